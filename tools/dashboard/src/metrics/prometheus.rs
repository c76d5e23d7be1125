//! The Prometheus source: where a Prometheus server already scrapes the sidecars (compose,
//! Kubernetes), the dashboard asks it through its HTTP API (`GET /api/v1/query`), with the
//! queries Kiali builds its graph from: the rate of `istio_requests_total` summed by both ends'
//! workload labels and the response code, and `histogram_quantile` over the duration buckets.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;

use super::istio::{self, End, Labels};
use super::{MetricsError, WorkloadSignals};
use crate::graph::model::{Signals, Traffic, Workload};

pub struct PrometheusClient {
    /// `http://prometheus:9090`, without a trailing slash.
    base: String,
    window: Duration,
    client: reqwest::Client,
}

/// One element of an instant vector.
#[derive(Debug, Deserialize)]
struct VectorSample {
    metric: HashMap<String, String>,
    /// `[unix time, "value"]`.
    value: (serde_json::Value, String),
}

impl VectorSample {
    /// The value; `None` for NaN (a quantile of no requests).
    fn number(&self) -> Option<f64> {
        self.value.1.parse::<f64>().ok().filter(|v| !v.is_nan())
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<AnswerData>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AnswerData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<VectorSample>,
}

type EdgeKey = (Workload, Workload, String);

impl PrometheusClient {
    pub fn new(base: &str, window: Duration) -> PrometheusClient {
        PrometheusClient {
            base: base.trim_end_matches('/').to_string(),
            window,
            client: reqwest::Client::new(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// `[60s]`: the range of every `rate()`.
    fn range(&self) -> String {
        format!("[{}s]", self.window.as_secs().max(1))
    }

    async fn query(&self, promql: &str) -> Result<Vec<VectorSample>, MetricsError> {
        let url = format!("{}/api/v1/query", self.base);
        let unreachable = |why: String| MetricsError::Unreachable(format!("{url}: {why}"));
        let with_query = url::Url::parse_with_params(&url, [("query", promql)])
            .map_err(|error| unreachable(error.to_string()))?;
        let response = self
            .client
            .get(with_query)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let answer: Answer = serde_json::from_str(&body).map_err(|error| {
            MetricsError::BadAnswer(format!(
                "{url} answered {status}, not Prometheus JSON: {error}"
            ))
        })?;
        match answer {
            Answer {
                status,
                data: Some(data),
                ..
            } if status == "success" && data.result_type == "vector" => Ok(data.result),
            Answer { error, status, .. } => Err(MetricsError::BadAnswer(format!(
                "{url} refused `{promql}`: {}",
                error.unwrap_or(status)
            ))),
        }
    }

    /// Kiali's two request queries (callers outside the mesh, then every sidecar's outbound
    /// requests) and the edge latency quantiles.
    pub async fn traffic(&self) -> Result<Vec<Traffic>, MetricsError> {
        let group_by = istio::GRAPH_GROUP_BY.join(",");
        let range = self.range();
        let requests = istio::REQUESTS;
        let selectors = [
            r#"reporter="destination",source_workload="unknown""#,
            r#"reporter="source""#,
        ];
        let mut edges: BTreeMap<EdgeKey, Signals> = BTreeMap::new();
        for selector in selectors {
            let query = format!("sum(rate({requests}{{{selector}}}{range})) by ({group_by})");
            for sample in self.query(&query).await? {
                let Some(rate) = sample.number() else {
                    continue;
                };
                let signals = edges.entry(edge_key(&sample.metric)).or_default();
                signals.rps += rate;
                if istio::is_error(&sample.metric) {
                    signals.error_rps += rate;
                }
            }
        }
        let ends = istio::EDGE_ENDS.join(",");
        let bucket = istio::DURATION_BUCKET;
        for quantile in [0.95, 0.99] {
            let [outside, inside] = selectors;
            let query = format!(
                "histogram_quantile({quantile}, sum(rate({bucket}{{{inside}}}{range})) by (le,{ends}) \
                 or sum(rate({bucket}{{{outside}}}{range})) by (le,{ends}))"
            );
            for sample in self.query(&query).await? {
                let Some(signals) = edges.get_mut(&edge_key(&sample.metric)) else {
                    continue;
                };
                if quantile == 0.95 {
                    signals.p95_ms = sample.number();
                } else {
                    signals.p99_ms = sample.number();
                }
            }
        }
        Ok(edges
            .into_iter()
            .map(|((source, destination, service), signals)| Traffic {
                source,
                destination,
                service,
                signals,
            })
            .collect())
    }

    pub async fn workload(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<WorkloadSignals, MetricsError> {
        // The callee's sidecar reports its inbound requests; the callers' reports stand in
        // when it does not, as in the scrape source.
        let mut inbound = self
            .signals("destination", End::Destination, namespace, name)
            .await?;
        if inbound.is_none() {
            inbound = self
                .signals("source", End::Destination, namespace, name)
                .await?;
        }
        let outbound = self.signals("source", End::Source, namespace, name).await?;
        Ok(WorkloadSignals {
            inbound: inbound.unwrap_or_default(),
            outbound: outbound.unwrap_or_default(),
        })
    }

    /// The golden signals of the requests `reporter` saw with the workload at `end`; `None`
    /// when there is no such series at all.
    async fn signals(
        &self,
        reporter: &str,
        end: End,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Signals>, MetricsError> {
        if !istio::is_safe_name(namespace) || !istio::is_safe_name(name) {
            return Err(MetricsError::BadName(format!("{namespace}/{name}")));
        }
        let prefix = end.prefix();
        let selector = format!(
            r#"reporter="{reporter}",{prefix}_workload_namespace="{namespace}",{prefix}_workload="{name}""#
        );
        let range = self.range();
        let rates = self
            .query(&format!(
                "sum(rate({}{{{selector}}}{range})) by (response_code)",
                istio::REQUESTS
            ))
            .await?;
        if rates.is_empty() {
            return Ok(None);
        }
        let mut signals = Signals::default();
        for sample in &rates {
            let rate = sample.number().unwrap_or(0.0);
            signals.rps += rate;
            if istio::is_error(&sample.metric) {
                signals.error_rps += rate;
            }
        }
        for quantile in [0.5, 0.95, 0.99] {
            let query = format!(
                "histogram_quantile({quantile}, sum(rate({}{{{selector}}}{range})) by (le))",
                istio::DURATION_BUCKET
            );
            let value = self
                .query(&query)
                .await?
                .first()
                .and_then(VectorSample::number);
            match quantile {
                0.5 => signals.p50_ms = value,
                0.95 => signals.p95_ms = value,
                _ => signals.p99_ms = value,
            }
        }
        Ok(Some(signals))
    }
}

fn edge_key(metric: &HashMap<String, String>) -> EdgeKey {
    (
        istio::workload(metric, End::Source),
        istio::workload(metric, End::Destination),
        metric.value("destination_service").to_string(),
    )
}
