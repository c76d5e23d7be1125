//! A histogram with Envoy's default buckets, as Prometheus reads it: one counter per bucket and
//! the sum of every value, all relaxed atomics, so that recording a value costs two additions.
//!
//! Values are kept in thousandths of their unit (microseconds for a duration in milliseconds),
//! so a request of 0.3 ms falls in the `le="0.5"` bucket rather than being rounded to 0 or 1.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Envoy's default bucket bounds (`le`), in the unit of the metric (milliseconds or bytes).
pub const BOUNDS: [&str; 19] = [
    "0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
    "30000", "60000", "300000", "600000", "1800000", "3600000",
];

/// [`BOUNDS`] in thousandths of the unit.
const BOUNDS_THOUSANDTHS: [u64; 19] = [
    500,
    1_000,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    30_000_000,
    60_000_000,
    300_000_000,
    600_000_000,
    1_800_000_000,
    3_600_000_000,
];

/// The counts of one histogram series.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Values in each bucket alone (not cumulative); the last one is above every bound.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    /// The sum of the values, in thousandths.
    sum: AtomicU64,
}

/// What a histogram holds at one moment, cumulative as Prometheus shows it.
pub struct Read {
    /// Values at or below each bound, then the total (`le="+Inf"`).
    pub cumulative: [u64; BOUNDS.len() + 1],
    pub sum_thousandths: u64,
}

impl Read {
    /// How many values were recorded (`_count`, the same as `le="+Inf"`).
    pub fn count(&self) -> u64 {
        self.cumulative[BOUNDS.len()]
    }
}

impl Histogram {
    /// Record one value, given in thousandths of the unit.
    pub fn record(&self, thousandths: u64) {
        let bucket = BOUNDS_THOUSANDTHS
            .iter()
            .position(|bound| thousandths <= *bound)
            .unwrap_or(BOUNDS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(thousandths, Ordering::Relaxed);
    }

    /// The counts now, cumulative.
    pub fn read(&self) -> Read {
        let mut cumulative = [0; BOUNDS.len() + 1];
        let mut total = 0;
        for (slot, bucket) in cumulative.iter_mut().zip(&self.buckets) {
            total += bucket.load(Ordering::Relaxed);
            *slot = total;
        }
        Read {
            cumulative,
            sum_thousandths: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// `thousandths` as a decimal number of units: `1234` → `1.234`, `2000` → `2`.
pub fn write_thousandths(out: &mut String, thousandths: u64) {
    let (whole, fraction) = (thousandths / 1000, thousandths % 1000);
    if fraction == 0 {
        let _ = write!(out, "{whole}");
    } else {
        let digits = format!("{fraction:03}");
        let _ = write!(out, "{whole}.{}", digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_counts_in_its_bucket_and_every_bucket_above() {
        let histogram = Histogram::default();
        // 0.3 ms, exactly 1 ms, 7 ms, and one past the last bound.
        for value in [300, 1_000, 7_000, 4_000_000_000] {
            histogram.record(value);
        }
        let read = histogram.read();
        assert_eq!(read.cumulative[0], 1, "le=0.5");
        assert_eq!(read.cumulative[1], 2, "le=1 holds 1 itself");
        assert_eq!(read.cumulative[2], 2, "le=5 holds what is below, not 7 ms");
        assert_eq!(read.cumulative[3], 3, "le=10 holds 7 ms too");
        assert_eq!(read.cumulative[18], 3, "le=3600000");
        assert_eq!(read.count(), 4, "+Inf holds everything");
        assert_eq!(read.sum_thousandths, 4_000_008_300);
    }

    #[test]
    fn thousandths_are_written_as_short_decimals() {
        for (value, text) in [
            (0, "0"),
            (2_000, "2"),
            (1_234, "1.234"),
            (500, "0.5"),
            (10, "0.01"),
        ] {
            let mut out = String::new();
            write_thousandths(&mut out, value);
            assert_eq!(out, text);
        }
    }
}
