//! Which request comes next, when it is due, and when the run is over.
//!
//! Every connection asks the one shared [`Schedule`] for its next request, a [`Slot`]. With a
//! target rate R, request number k is due at `start + k / R`, whoever sends it: a fixed
//! schedule that does not bend when the target slows down. That is what makes the latency
//! honest. A load generator that waits for an answer before it even *plans* the next request
//! quietly sends less when the target stalls, and so never measures the stall's effect on the
//! requests that should have been sent meanwhile ("coordinated omission"). Here the request
//! keeps its due time, and its latency is counted from it: time spent waiting for a free
//! connection is part of what a real client would have suffered. (Only when the request is late
//! because its connection was busy: a connection that was idle and slept until the due time
//! starts the clock when it wakes, so that the timer's own lateness, up to a millisecond in
//! tokio, is not blamed on the target.)
//!
//! Without a rate, a slot is due at once, and latency starts when the request is sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::plan::Stop;

/// The shared plan of sends: a counter of slots handed out, read by every connection.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    stop: Stop,
    /// The target rate, requests per second.
    qps: Option<f64>,
    handed_out: AtomicU64,
}

/// One request to send.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// When it is due: `None` for "now" (no target rate).
    pub due: Option<Instant>,
}

impl Schedule {
    pub fn new(start: Instant, stop: Stop, qps: Option<f64>) -> Self {
        Schedule {
            start,
            stop,
            qps,
            handed_out: AtomicU64::new(0),
        }
    }

    /// The next slot, or `None` when the run has sent all it should.
    pub fn next(&self) -> Option<Slot> {
        // Relaxed is enough: the counter only has to hand out each number once.
        let k = self.handed_out.fetch_add(1, Ordering::Relaxed);
        // Rounded to the nanosecond, so that slot k is exactly k/R after the start.
        let due = self
            .qps
            .map(|qps| self.start + Duration::from_nanos((k as f64 * 1e9 / qps).round() as u64));
        let over = match self.stop {
            Stop::Count(count) => k >= count,
            Stop::After(duration) => {
                let end = self.start + duration;
                due.unwrap_or_else(Instant::now) >= end
            }
        };
        (!over).then_some(Slot { due })
    }

    /// Whether no slot is left; a connection that lost its link checks it before reconnecting.
    pub fn is_over(&self) -> bool {
        match self.stop {
            Stop::Count(count) => self.handed_out.load(Ordering::Relaxed) >= count,
            Stop::After(duration) => Instant::now() >= self.start + duration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_hands_out_exactly_that_many_slots() {
        let schedule = Schedule::new(Instant::now(), Stop::Count(3), None);
        assert_eq!((0..10).filter_map(|_| schedule.next()).count(), 3);
        assert!(schedule.is_over());
    }

    #[test]
    fn with_a_rate_slots_are_due_on_a_fixed_grid() {
        let start = Instant::now();
        let schedule = Schedule::new(start, Stop::Count(5), Some(200.0));
        let dues: Vec<Duration> = (0..5)
            .filter_map(|_| schedule.next())
            .filter_map(|slot| slot.due)
            .map(|due| due - start)
            .collect();
        let expected: Vec<Duration> = (0..5).map(|k| Duration::from_millis(5 * k)).collect();
        assert_eq!(dues, expected);
    }

    #[test]
    fn with_a_rate_and_a_duration_no_slot_is_due_after_the_end() {
        let schedule = Schedule::new(
            Instant::now(),
            Stop::After(Duration::from_secs(1)),
            Some(10.0),
        );
        assert_eq!(std::iter::from_fn(|| schedule.next()).count(), 10);
    }
}
