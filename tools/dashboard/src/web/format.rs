//! Numbers as the pages print them.

use crate::graph::model::Signals;

pub fn rate(rps: f64) -> String {
    format!("{rps:.2}")
}

pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

pub fn millis(value: Option<f64>) -> String {
    match value {
        Some(ms) if ms >= 100.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{ms:.1} ms"),
        None => "–".to_string(),
    }
}

/// One line of golden signals: rate, errors, latency quantiles.
pub struct SignalsRow {
    pub rps: String,
    pub error_rate: String,
    pub p50: String,
    pub p95: String,
    pub p99: String,
    pub failing: bool,
}

impl From<&Signals> for SignalsRow {
    fn from(signals: &Signals) -> Self {
        SignalsRow {
            rps: rate(signals.rps),
            error_rate: percent(signals.error_rate()),
            p50: millis(signals.p50_ms),
            p95: millis(signals.p95_ms),
            p99: millis(signals.p99_ms),
            failing: signals.error_rps > 0.0,
        }
    }
}
