//! How long to wait before reconnecting: exponential back-off with full jitter.
//!
//! The ceiling doubles after each failed attempt, from 250 ms up to 30 s, and the wait is drawn
//! uniformly between zero and the ceiling ("full jitter", as AWS's architecture blog calls it).
//! A control plane that restarts then sees its thousand proxies come back spread over time, not
//! all in the same instant. The ceiling drops back to 250 ms after a stream that delivered a
//! snapshot: that control plane worked, so the next failure is a new story.

use std::time::Duration;

/// The ceiling of the first wait.
pub const FIRST: Duration = Duration::from_millis(250);
/// The highest ceiling.
pub const MOST: Duration = Duration::from_secs(30);

/// The failures since the last good stream, and so the next ceiling.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait before the next attempt; each call counts one more failure.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        ceiling.mul_f64(fastrand::f64())
    }

    /// A stream delivered a snapshot: start again from [`FIRST`].
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// `FIRST * 2^failures`, at most [`MOST`].
    fn ceiling(&self) -> Duration {
        FIRST
            .saturating_mul(2u32.saturating_pow(self.failures))
            .min(MOST)
    }
}

#[cfg(test)]
mod tests {
    use super::{Backoff, FIRST, MOST};
    use std::time::Duration;

    #[test]
    fn the_ceiling_doubles_up_to_thirty_seconds_and_resets() {
        let mut backoff = Backoff::default();
        let mut ceilings = Vec::new();
        for _ in 0..12 {
            let ceiling = backoff.ceiling();
            assert!(backoff.next_wait() <= ceiling);
            ceilings.push(ceiling.as_millis());
        }
        assert_eq!(
            ceilings,
            [
                250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000
            ]
        );
        backoff.reset();
        assert_eq!(backoff.ceiling(), FIRST);
    }

    #[test]
    fn many_failures_never_overflow() {
        let backoff = Backoff { failures: u32::MAX };
        assert_eq!(backoff.ceiling(), MOST);
    }

    #[test]
    fn waits_are_spread_between_zero_and_the_ceiling() {
        let waits: Vec<Duration> = (0..200)
            .map(|_| Backoff { failures: 3 }.next_wait())
            .collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
        assert!(waits.iter().any(|w| *w < Duration::from_millis(500)));
        assert!(waits.iter().any(|w| *w > Duration::from_millis(1500)));
    }
}
