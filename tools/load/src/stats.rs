//! What one connection records while it runs, and how records are added up.
//!
//! Each connection keeps its own [`Stats`] and nobody else touches them: no lock, no shared
//! cache line on the hot path. They are merged once, at the end. Latencies go into an
//! HdrHistogram, which keeps every value to 3 significant digits in a fixed amount of memory,
//! so percentiles are exact enough without storing each sample.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest latency the histogram holds (one hour, in microseconds); longer is clamped.
const MAX_MICROS: u64 = 3_600_000_000;

/// A request that got no HTTP answer, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Nothing listens on the port: the connection was refused.
    ConnectRefused,
    /// The connection could not be opened within the request timeout.
    ConnectTimeout,
    /// The connection could not be opened for another reason (unreachable network, ...).
    ConnectFailed,
    /// The whole answer did not arrive within `--timeout`.
    Timeout,
    /// The connection was closed or reset before the answer was complete.
    Reset,
    /// The peer broke the protocol (an invalid response, an HTTP/2 stream error, ...).
    Protocol,
}

impl ErrorKind {
    /// The words used in the text report.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect refused",
            ErrorKind::ConnectTimeout => "connect timeout",
            ErrorKind::ConnectFailed => "connect failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "connection reset",
            ErrorKind::Protocol => "protocol error",
        }
    }

    /// The key used in JSON (`connect_refused`, ...).
    pub fn key(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::ConnectFailed => "connect_failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Protocol => "protocol",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The record of one connection, or, merged, of the whole run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency of each answered request, in microseconds.
    pub latency: Histogram<u64>,
    pub status_codes: BTreeMap<u16, u64>,
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Bytes of response bodies.
    pub body_bytes: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            // 3 significant digits from 1 µs to an hour: about 200 KB, fixed.
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .expect("1 µs to 1 h at 3 significant digits are valid bounds"),
            status_codes: BTreeMap::new(),
            errors: BTreeMap::new(),
            body_bytes: 0,
        }
    }
}

impl Stats {
    pub fn record_answer(&mut self, status: u16, latency: Duration, body_bytes: u64) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS);
        self.latency.saturating_record(micros.clamp(1, MAX_MICROS));
        *self.status_codes.entry(status).or_default() += 1;
        self.body_bytes += body_bytes;
    }

    pub fn record_error(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Requests answered with an HTTP status, whatever it was.
    pub fn answered(&self) -> u64 {
        self.status_codes.values().sum()
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, other: &Stats) {
        // Both histograms have the same bounds, so adding cannot fail; if it ever did, the
        // values past the bound are clamped rather than the run lost.
        let _ = self.latency.add(&other.latency);
        for (status, count) in &other.status_codes {
            *self.status_codes.entry(*status).or_default() += count;
        }
        for (kind, count) in &other.errors {
            *self.errors.entry(*kind).or_default() += count;
        }
        self.body_bytes += other.body_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_records_add_up() {
        let mut a = Stats::default();
        a.record_answer(200, Duration::from_micros(100), 10);
        a.record_error(ErrorKind::Timeout);
        let mut b = Stats::default();
        b.record_answer(200, Duration::from_micros(300), 5);
        b.record_answer(503, Duration::from_millis(2), 0);
        a.merge(&b);
        assert_eq!(a.answered(), 3);
        assert_eq!(a.failed(), 1);
        assert_eq!(a.status_codes[&200], 2);
        assert_eq!(a.status_codes[&503], 1);
        assert_eq!(a.body_bytes, 15);
        assert_eq!(a.latency.len(), 3);
        assert_eq!(a.latency.min(), 100);
    }

    #[test]
    fn a_latency_under_a_microsecond_still_counts() {
        let mut stats = Stats::default();
        stats.record_answer(204, Duration::from_nanos(10), 0);
        assert_eq!(stats.latency.len(), 1);
    }
}
