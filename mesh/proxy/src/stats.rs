//! Counters for `GET /stats`: plain atomics, so counting never slows a request down.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The response flags the proxy sets (Envoy's names), in the order `/stats` prints them.
pub const FLAGS: [&str; 12] = [
    "DI", "FI", "NR", "NC", "UH", "UO", "UF", "UC", "UR", "UT", "URX", "DPE",
];

/// One counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn increment(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter of the proxy.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: Counter,
    /// Responses by class: index 0 is 1xx ... index 4 is 5xx.
    pub responses: [Counter; 5],
    /// One counter per entry of [`FLAGS`].
    pub flags: [Counter; FLAGS.len()],
    /// Attempts after the first one.
    pub retries: Counter,
    /// Requests refused by a circuit breaker (`UO`); Envoy's name, which Istio's task greps for.
    pub pending_overflow: Counter,
    /// Retries not made because the destination's `maxRetries` were all in progress.
    pub retry_overflow: Counter,
    /// Endpoints ejected by outlier detection, ever.
    pub outlier_ejections: Counter,
    pub config_reloads: Counter,
    pub registry_reloads: Counter,
}

impl Stats {
    /// Count a finished request.
    pub fn record(&self, status: u16, flags: &[&str]) {
        self.requests.increment();
        if let Some(class) = (status / 100).checked_sub(1).map(usize::from)
            && let Some(counter) = self.responses.get(class)
        {
            counter.increment();
        }
        for flag in flags {
            if let Some(i) = FLAGS.iter().position(|f| f == flag) {
                self.flags[i].increment();
            }
        }
    }

    /// `name value` lines, one per counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "requests {}", self.requests.get());
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "responses_{}xx {}", i + 1, counter.get());
        }
        for (flag, counter) in FLAGS.iter().zip(&self.flags) {
            let _ = writeln!(out, "flag_{flag} {}", counter.get());
        }
        let _ = writeln!(out, "retries {}", self.retries.get());
        let _ = writeln!(
            out,
            "upstream_rq_pending_overflow {}",
            self.pending_overflow.get()
        );
        let _ = writeln!(
            out,
            "upstream_rq_retry_overflow {}",
            self.retry_overflow.get()
        );
        let _ = writeln!(
            out,
            "outlier_ejections_total {}",
            self.outlier_ejections.get()
        );
        let _ = writeln!(out, "config_reloads {}", self.config_reloads.get());
        let _ = writeln!(out, "registry_reloads {}", self.registry_reloads.get());
        out
    }
}
