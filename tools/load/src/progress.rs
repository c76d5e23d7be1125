//! The progress line printed every second during a run, on stderr.
//!
//! Connections bump two shared counters ([`Live`]) as requests complete; a separate task reads
//! them once a second. The counters are the only state shared on the hot path, and relaxed
//! atomic additions are the cheapest way to share them: the display needs no exact snapshot.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior, interval};

use super::duration::human;
use super::plan::Stop;

/// Requests completed so far, and how many of them failed.
#[derive(Debug, Default)]
pub struct Live {
    completed: AtomicU64,
    failed: AtomicU64,
}

impl Live {
    pub fn record(&self, answered: bool) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if !answered {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn read(&self) -> (u64, u64) {
        (
            self.completed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Prints a line every second until the task is aborted.
pub async fn report_every_second(live: Arc<Live>, stop: Stop) {
    let start = Instant::now();
    let mut ticks = interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    let mut last = (start, 0);
    loop {
        ticks.tick().await;
        let now = Instant::now();
        let (completed, failed) = live.read();
        let rate = (completed - last.1) as f64 / (now - last.0).as_secs_f64();
        last = (now, completed);
        let line = line(now - start, stop, completed, failed, rate);
        // A closed stderr is no reason to stop the run.
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// `[3.000 s / 10.000 s]  12034 requests  4010/s  0 errors`, or with `-n`,
/// `[3.000 s]  1200/5000 requests  400/s  2 errors`.
pub fn line(elapsed: Duration, stop: Stop, completed: u64, failed: u64, rate: f64) -> String {
    match stop {
        Stop::After(total) => format!(
            "[{} / {}]  {completed} requests  {rate:.0}/s  {failed} errors",
            human(elapsed),
            human(total)
        ),
        Stop::Count(total) => format!(
            "[{}]  {completed}/{total} requests  {rate:.0}/s  {failed} errors",
            human(elapsed)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_elapsed_total_requests_rate_and_errors() {
        let after = Stop::After(Duration::from_secs(10));
        assert_eq!(
            line(Duration::from_secs(3), after, 12034, 0, 4010.4),
            "[3.000 s / 10.000 s]  12034 requests  4010/s  0 errors"
        );
        assert_eq!(
            line(Duration::from_secs(3), Stop::Count(5000), 1200, 2, 400.0),
            "[3.000 s]  1200/5000 requests  400/s  2 errors"
        );
    }
}
