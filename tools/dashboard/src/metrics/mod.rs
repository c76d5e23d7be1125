//! Where the graph's numbers come from: Istio's standard metrics, either scraped from the
//! sidecars by the dashboard itself ([`scrape`]) or asked of a Prometheus server
//! ([`prometheus`]). Both answer with the same [`Traffic`] rows and [`WorkloadSignals`].

pub mod istio;
pub mod prometheus;
pub mod quantile;
pub mod rates;
pub mod scrape;
pub mod text_format;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::graph::model::{Signals, Traffic};

/// Which metrics the dashboard reads.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsSource {
    /// Read each sidecar's `/stats/prometheus` every `interval`, with rates over `window`.
    Scrape {
        /// Admin addresses of the sidecars (`http://127.0.0.1:15000`).
        targets: Vec<String>,
        interval: Duration,
        window: Duration,
    },
    /// Ask a Prometheus server (`http://prometheus:9090`), with `rate(...[window])`.
    Prometheus { url: String, window: Duration },
}

impl MetricsSource {
    /// Scrape these sidecars every 2 s, rates over the last 10 s: quick enough to watch a
    /// routing change fade an edge.
    pub fn scrape(targets: Vec<String>) -> MetricsSource {
        MetricsSource::Scrape {
            targets,
            interval: Duration::from_secs(2),
            window: Duration::from_secs(10),
        }
    }

    /// Query this Prometheus with rates over 1 minute (4 scrapes at Prometheus' usual 15 s).
    pub fn prometheus(url: impl Into<String>) -> MetricsSource {
        MetricsSource::Prometheus {
            url: url.into(),
            window: Duration::from_secs(60),
        }
    }

    pub fn window(&self) -> Duration {
        match self {
            MetricsSource::Scrape { window, .. } | MetricsSource::Prometheus { window, .. } => {
                *window
            }
        }
    }
}

/// A workload's golden signals: what it serves and what it calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkloadSignals {
    pub inbound: Signals,
    pub outbound: Signals,
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot reach Prometheus at {0}")]
    Unreachable(String),
    #[error("{0}")]
    BadAnswer(String),
    #[error("`{0}` is not a workload name (letters, digits, `-`, `.`, `_`)")]
    BadName(String),
}

/// The running source the pages ask.
#[derive(Clone)]
pub enum Metrics {
    Scrape(Arc<scrape::Scraper>),
    Prometheus(Arc<prometheus::PrometheusClient>),
}

impl Metrics {
    /// `scrape` or `prometheus`, as `/api/graph` says.
    pub fn kind(&self) -> &'static str {
        match self {
            Metrics::Scrape(_) => "scrape",
            Metrics::Prometheus(_) => "prometheus",
        }
    }

    /// The window of the rates, in whole seconds.
    pub fn window_seconds(&self) -> u64 {
        match self {
            Metrics::Scrape(scraper) => scraper.window().as_secs(),
            Metrics::Prometheus(client) => client.window().as_secs(),
        }
    }

    pub async fn traffic(&self) -> Result<Vec<Traffic>, MetricsError> {
        match self {
            Metrics::Scrape(scraper) => Ok(scraper.traffic()),
            Metrics::Prometheus(client) => client.traffic().await,
        }
    }

    pub async fn workload(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<WorkloadSignals, MetricsError> {
        match self {
            Metrics::Scrape(scraper) => scraper.workload(namespace, name),
            Metrics::Prometheus(client) => client.workload(namespace, name).await,
        }
    }

    /// What went wrong reading the metrics lately (targets that did not answer), for the page.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Metrics::Scrape(scraper) => scraper.failures(),
            Metrics::Prometheus(_) => Vec::new(),
        }
    }
}
