//! The service graph both metrics sources produce, and `/api/graph` serves as JSON.

use serde::Serialize;

/// Istio's value for a label it could not fill: here, a caller from outside the mesh.
pub const UNKNOWN: &str = "unknown";

/// An edge whose p99 reaches this many milliseconds is marked slow. Bookinfo's calls take
/// milliseconds; a second is what an injected delay or a timeout looks like.
pub const SLOW_P99_MS: f64 = 1000.0;

/// A workload as Istio's labels name it: `reviews-v2` in `default`, app `reviews`, version `v2`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    pub app: String,
    pub version: String,
}

impl Workload {
    /// The node id of the graph: `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn is_unknown(&self) -> bool {
        self.name == UNKNOWN
    }
}

/// Rate, errors and latency of a set of requests over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Signals {
    /// Requests per second.
    pub rps: f64,
    /// Requests per second answered 4xx, 5xx or not at all (response code 0).
    pub error_rps: f64,
    /// Latency quantiles in milliseconds; `None` with no requests in the window.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Signals {
    /// The share of requests that failed, 0.0 when idle.
    pub fn error_rate(&self) -> f64 {
        if self.rps > 0.0 {
            self.error_rps / self.rps
        } else {
            0.0
        }
    }
}

/// The traffic from one workload to another, as a metrics source measured it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Traffic {
    pub source: Workload,
    pub destination: Workload,
    /// The destination service's host (`reviews.default.svc.cluster.local`).
    pub service: String,
    pub signals: Signals,
}

/// How an edge looks: Kiali's thresholds for HTTP edges (errors above 0.1 % degrade an edge,
/// 20 % make it fail), and idle when the window saw no request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeState {
    Healthy,
    Degraded,
    Failing,
    Idle,
}

impl EdgeState {
    pub fn of(signals: &Signals) -> Self {
        let rate = signals.error_rate();
        if signals.rps <= 0.0 {
            EdgeState::Idle
        } else if rate >= 0.2 {
            EdgeState::Failing
        } else if rate > 0.001 {
            EdgeState::Degraded
        } else {
            EdgeState::Healthy
        }
    }

    /// The CSS class of the edge (`edge-failing`).
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeState::Healthy => "healthy",
            EdgeState::Degraded => "degraded",
            EdgeState::Failing => "failing",
            EdgeState::Idle => "idle",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// `namespace/name`.
    pub id: String,
    #[serde(flatten)]
    pub workload: Workload,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    /// Node ids.
    pub source: String,
    pub destination: String,
    pub source_workload: String,
    pub destination_workload: String,
    pub service: String,
    pub rps: f64,
    pub error_rps: f64,
    /// `error_rps / rps`, 0.0 when idle.
    pub error_rate: f64,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub state: EdgeState,
    /// Its p99 is [`SLOW_P99_MS`] or more: drawn thicker, whatever its state.
    pub slow: bool,
}

/// What `/api/graph` answers and `/` draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Graph {
    /// `scrape` or `prometheus`.
    pub source: &'static str,
    /// The window rates are computed over, in seconds.
    pub window_seconds: u64,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Graph {
    /// Nodes and edges from the measured traffic; rows for the same pair of workloads (several
    /// services, say) are summed, keeping the slowest latency.
    pub fn from_traffic(source: &'static str, window_seconds: u64, traffic: &[Traffic]) -> Graph {
        use std::collections::BTreeMap;
        let mut nodes = BTreeMap::new();
        let mut edges: BTreeMap<(String, String), (Traffic, Signals)> = BTreeMap::new();
        for row in traffic {
            for workload in [&row.source, &row.destination] {
                nodes
                    .entry(workload.id())
                    .or_insert_with(|| workload.clone());
            }
            let key = (row.source.id(), row.destination.id());
            let entry = edges
                .entry(key)
                .or_insert_with(|| (row.clone(), Signals::default()));
            let sum = &mut entry.1;
            sum.rps += row.signals.rps;
            sum.error_rps += row.signals.error_rps;
            sum.p50_ms = slowest(sum.p50_ms, row.signals.p50_ms);
            sum.p95_ms = slowest(sum.p95_ms, row.signals.p95_ms);
            sum.p99_ms = slowest(sum.p99_ms, row.signals.p99_ms);
        }
        Graph {
            source,
            window_seconds,
            nodes: nodes
                .into_iter()
                .map(|(id, workload)| Node { id, workload })
                .collect(),
            edges: edges
                .into_iter()
                .map(|((source, destination), (row, signals))| Edge {
                    source,
                    destination,
                    source_workload: row.source.name,
                    destination_workload: row.destination.name,
                    service: row.service,
                    rps: signals.rps,
                    error_rps: signals.error_rps,
                    error_rate: signals.error_rate(),
                    p95_ms: signals.p95_ms,
                    p99_ms: signals.p99_ms,
                    state: EdgeState::of(&signals),
                    slow: signals.p99_ms.is_some_and(|p99| p99 >= SLOW_P99_MS),
                })
                .collect(),
        }
    }
}

fn slowest(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(name: &str) -> Workload {
        let (app, version) = name.rsplit_once('-').unwrap_or((name, UNKNOWN));
        Workload {
            namespace: "default".into(),
            name: name.into(),
            app: app.into(),
            version: version.into(),
        }
    }

    fn traffic(from: &str, to: &str, rps: f64, error_rps: f64, p99: Option<f64>) -> Traffic {
        Traffic {
            source: workload(from),
            destination: workload(to),
            service: format!("{to}.default.svc.cluster.local"),
            signals: Signals {
                rps,
                error_rps,
                p99_ms: p99,
                ..Signals::default()
            },
        }
    }

    #[test]
    fn edges_sum_rows_of_one_pair_and_get_their_state() {
        let graph = Graph::from_traffic(
            "scrape",
            30,
            &[
                traffic("productpage-v1", "reviews-v2", 8.0, 0.0, Some(20.0)),
                traffic("productpage-v1", "reviews-v2", 2.0, 2.0, Some(90.0)),
                traffic("productpage-v1", "details-v1", 0.0, 0.0, None),
                traffic("reviews-v2", "ratings-v1", 10.0, 0.5, Some(5.0)),
            ],
        );
        assert_eq!(graph.nodes.len(), 4);
        let edge = |to: &str| {
            graph
                .edges
                .iter()
                .find(|edge| edge.destination_workload == to)
                .cloned()
        };
        let reviews = edge("reviews-v2").unwrap();
        assert_eq!((reviews.rps, reviews.error_rps), (10.0, 2.0));
        assert_eq!(reviews.error_rate, 0.2);
        assert_eq!(reviews.p99_ms, Some(90.0));
        assert_eq!(reviews.state, EdgeState::Failing);
        assert_eq!(edge("details-v1").unwrap().state, EdgeState::Idle);
        assert_eq!(edge("ratings-v1").unwrap().state, EdgeState::Degraded);
    }

    #[test]
    fn an_edge_is_slow_from_a_p99_of_one_second() {
        let graph = Graph::from_traffic(
            "scrape",
            10,
            &[
                traffic("productpage-v1", "reviews-v1", 5.0, 0.0, Some(999.0)),
                traffic("productpage-v1", "reviews-v2", 0.3, 0.3, Some(4975.0)),
                traffic("reviews-v2", "ratings-v1", 5.0, 0.0, Some(1000.0)),
                traffic("reviews-v3", "ratings-v1", 0.0, 0.0, None),
            ],
        );
        let slow: Vec<(&str, bool)> = graph
            .edges
            .iter()
            .map(|edge| (edge.destination.as_str(), edge.slow))
            .collect();
        assert_eq!(
            slow,
            [
                ("default/reviews-v1", false),
                ("default/reviews-v2", true),
                ("default/ratings-v1", true),
                ("default/ratings-v1", false),
            ]
        );
    }
}
