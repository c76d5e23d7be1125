//! Prometheus metrics: how every call to a peer ended.
//!
//! Bookinfo's productpage counts each downstream result in `request_result`, labelled with the
//! peer (`destination_app`) and the HTTP status it answered (`response_code`). The counter is
//! exposed as `request_result_total` on `GET /metrics`, which is what a dashboard plots to show
//! a fault-injection rule at work *from the application's side*, next to the mesh's own numbers.
//!
//! A call that got no response at all (connection refused, timeout) is counted with
//! `response_code="0"`, the same convention Envoy uses in its access log.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::app::AppState;

/// The status recorded when there was no response.
pub const NO_RESPONSE: u16 = 0;

/// The content type of the OpenMetrics text format that `prometheus-client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The labels of `request_result`. Both are small `Copy` values, so counting allocates nothing.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    destination_app: &'static str,
    response_code: u16,
}

/// productpage's metrics and the registry that exposes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    request_result: Family<ResultLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let request_result = Family::<ResultLabels, Counter>::default();
        // Registered as `request_result`; the text encoder adds the `_total` suffix of counters.
        registry.register(
            "request_result",
            "Results of the calls productpage makes to its peers",
            request_result.clone(),
        );
        Self {
            registry,
            request_result,
        }
    }

    /// Counts one result of a call to `peer`; `code` is the HTTP status, or [`NO_RESPONSE`].
    pub fn record(&self, peer: &'static str, code: u16) {
        self.request_result
            .get_or_create(&ResultLabels {
                destination_app: peer,
                response_code: code,
            })
            .inc();
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_counted_per_peer_and_code() {
        let metrics = Metrics::new();
        metrics.record("reviews", 503);
        metrics.record("reviews", 503);
        metrics.record("details", NO_RESPONSE);
        let text = metrics.encode().expect("encodes");
        assert!(
            text.contains(
                r#"request_result_total{destination_app="reviews",response_code="503"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"request_result_total{destination_app="details",response_code="0"} 1"#),
            "{text}"
        );
    }
}
