//! The control plane's Prometheus metrics, served on the admin port's `/metrics`.
//!
//! They answer istiod's dashboard questions with sailkit names: how many pushes
//! (`pilot_xds_pushes`), how long a push takes (`pilot_xds_push_time`), how many NACKs
//! (`pilot_total_xds_rejects`), how many proxies are connected (`pilot_xds`), and how many
//! config files are refused now.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of the OpenMetrics text that `prometheus-client` writes.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Snapshots published (a change that left the version as it was is not a push).
    pub pushes: Counter,
    /// Seconds to build a snapshot and hand it to every stream.
    pub push_duration: Histogram,
    pub nacks: Counter,
    pub connected_proxies: Gauge,
    pub config_refused_files: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let pushes = Counter::default();
        // From 100 µs to about 3 s, doubling.
        let push_duration = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let nacks = Counter::default();
        let connected_proxies = Gauge::default();
        let config_refused_files = Gauge::default();
        // Counters get their `_total` suffix from the encoder.
        registry.register(
            "sailkit_control_pushes",
            "Snapshots pushed to the proxies",
            pushes.clone(),
        );
        registry.register(
            "sailkit_control_push_duration_seconds",
            "Time to build a snapshot and hand it to every connected stream",
            push_duration.clone(),
        );
        registry.register(
            "sailkit_control_nacks",
            "Snapshots the proxies refused",
            nacks.clone(),
        );
        registry.register(
            "sailkit_control_connected_proxies",
            "Proxies with an open stream",
            connected_proxies.clone(),
        );
        registry.register(
            "sailkit_control_config_refused_files",
            "Files of the config folder refused at the last read",
            config_refused_files.clone(),
        );
        Metrics {
            registry,
            pushes,
            push_duration,
            nacks,
            connected_proxies,
            config_refused_files,
        }
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(2048);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
