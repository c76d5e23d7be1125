//! Counters for `GET /stats` and `GET /stats/prometheus`: plain atomics, so counting never slows
//! a request down.
//!
//! A finished request costs a handful of relaxed atomic additions and no lock or allocation:
//! the class counters of `/stats` and one counter per response flag. Istio's metrics, with
//! their labels, are `crate::metrics`'; `/stats/prometheus` shows both. Turning the counters
//! into text happens only when the admin port is asked.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::flags::{Flag, Flags};
use crate::metrics::Metrics;

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
    /// One counter per entry of [`Flag::ALL`], in that order.
    pub flags: [Counter; Flag::ALL.len()],
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
    pub fn record(&self, status: u16, flags: Flags) {
        self.requests.increment();
        if let Some(class) = (status / 100).checked_sub(1).map(usize::from)
            && let Some(counter) = self.responses.get(class)
        {
            counter.increment();
        }
        for flag in flags.iter() {
            self.flags[flag.index()].increment();
        }
    }

    /// `name value` lines, one per counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "requests {}", self.requests.get());
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "responses_{}xx {}", i + 1, counter.get());
        }
        for (flag, counter) in Flag::ALL.iter().zip(&self.flags) {
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

    /// The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then
    /// `name{labels} value` lines. Istio's metrics come first (`metrics`, with their labels),
    /// then these counters, named after Envoy's cluster statistics where one exists, `sailkit_`
    /// otherwise (see `docs/proxy-lifecycle.md`). `ejections_active` is a gauge the caller reads
    /// from the outlier detectors.
    pub fn render_prometheus(&self, metrics: &Metrics, ejections_active: usize) -> String {
        let mut out = String::new();
        metrics.render(&mut out);
        family(
            &mut out,
            "sailkit_response_flags_total",
            "counter",
            "Requests that got each response flag (a request with two flags counts twice).",
        );
        for (flag, counter) in Flag::ALL.iter().zip(&self.flags) {
            let _ = writeln!(
                out,
                "sailkit_response_flags_total{{response_flags=\"{flag}\"}} {}",
                counter.get()
            );
        }
        let counters = [
            (
                "envoy_cluster_upstream_rq_retry",
                "Attempts after the first one (retries made).",
                &self.retries,
            ),
            (
                "envoy_cluster_upstream_rq_pending_overflow",
                "Requests refused by a circuit breaker (503 UO).",
                &self.pending_overflow,
            ),
            (
                "envoy_cluster_upstream_rq_retry_overflow",
                "Retries not made because maxRetries were already in progress.",
                &self.retry_overflow,
            ),
            (
                "envoy_cluster_outlier_detection_ejections_total",
                "Endpoints ejected by outlier detection since the proxy started.",
                &self.outlier_ejections,
            ),
            (
                "sailkit_config_reloads_total",
                "Times the config directory changed and was loaded again (applied or rejected).",
                &self.config_reloads,
            ),
            (
                "sailkit_registry_reloads_total",
                "Times the registry file changed and was read again (applied or rejected).",
                &self.registry_reloads,
            ),
        ];
        for (name, help, counter) in counters {
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", counter.get());
        }
        let name = "envoy_cluster_outlier_detection_ejections_active";
        family(&mut out, name, "gauge", "Endpoints ejected right now.");
        let _ = writeln!(out, "{name} {ejections_active}");
        out
    }
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_class_and_by_flag() {
        let stats = Stats::default();
        let mut flags = Flags::new();
        flags.insert(Flag::UpstreamConnectionFailure);
        flags.insert(Flag::UpstreamRetryLimitExceeded);
        stats.record(200, Flags::new());
        stats.record(503, flags);
        // A caller gone unanswered: no class, its flag still counts.
        let mut dropped = Flags::new();
        dropped.insert(Flag::DownstreamConnectionTermination);
        stats.record(0, dropped);
        let metrics = Metrics::new(
            crate::metrics::WorkloadLabels::unknown(),
            crate::metrics::ServiceLabels::unknown(),
        );
        let text = stats.render_prometheus(&metrics, 3);
        for line in [
            "sailkit_response_flags_total{response_flags=\"UF\"} 1",
            "sailkit_response_flags_total{response_flags=\"URX\"} 1",
            "sailkit_response_flags_total{response_flags=\"DC\"} 1",
            "envoy_cluster_outlier_detection_ejections_active 3",
            "# TYPE envoy_cluster_upstream_rq_pending_overflow counter",
            "# TYPE istio_requests_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in:\n{text}"
            );
        }
        let plain = stats.render();
        for line in [
            "requests 3",
            "responses_2xx 1",
            "responses_5xx 1",
            "flag_DC 1",
        ] {
            assert!(plain.lines().any(|l| l == line), "{line:?} in:\n{plain}");
        }
    }
}
