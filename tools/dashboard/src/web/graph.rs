//! `/` (the live service graph), `/fragment/graph` (its drawing alone, which the page fetches
//! every few seconds) and `/api/graph` (the same model as JSON).

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::format::{millis, percent, rate};
use super::{AppState, problem};
use crate::graph::layout::{self, Drawing};
use crate::graph::model::Graph;

/// The graph as the template draws it.
struct GraphView {
    drawing: Drawing,
    edges: Vec<EdgeRow>,
    warnings: Vec<String>,
    source: &'static str,
    window_seconds: u64,
}

struct EdgeRow {
    source: String,
    source_namespace: String,
    destination: String,
    destination_namespace: String,
    rps: String,
    error_rate: String,
    p95: String,
    p99: String,
    state: &'static str,
    traces_href: Option<String>,
}

#[derive(Template)]
#[template(path = "graph.html")]
struct GraphPage {
    view: GraphView,
    refresh_ms: u128,
}

#[derive(Template)]
#[template(path = "graph_fragment.html")]
struct GraphFragment {
    view: GraphView,
}

/// The graph, or why there is none (Prometheus unreachable) as a warning.
async fn build(state: &AppState) -> (Graph, Vec<String>) {
    let window = state.metrics.window_seconds();
    let mut warnings = state.metrics.warnings();
    let traffic = match state.metrics.traffic().await {
        Ok(traffic) => traffic,
        Err(error) => {
            warnings.push(error.to_string());
            Vec::new()
        }
    };
    (
        Graph::from_traffic(state.metrics.kind(), window, &traffic),
        warnings,
    )
}

fn view(graph: &Graph, warnings: Vec<String>) -> GraphView {
    let namespace = |id: &str| id.split_once('/').map_or("", |(ns, _)| ns).to_string();
    let drawing = layout::draw(graph);
    let edges = graph
        .edges
        .iter()
        .zip(&drawing.edges)
        .map(|(edge, drawn)| EdgeRow {
            source: edge.source_workload.clone(),
            source_namespace: namespace(&edge.source),
            destination: edge.destination_workload.clone(),
            destination_namespace: namespace(&edge.destination),
            rps: rate(edge.rps),
            error_rate: percent(edge.error_rate),
            p95: millis(edge.p95_ms),
            p99: millis(edge.p99_ms),
            state: edge.state.as_str(),
            traces_href: drawn.traces_href.clone(),
        })
        .collect();
    GraphView {
        drawing,
        edges,
        warnings,
        source: graph.source,
        window_seconds: graph.window_seconds,
    }
}

pub async fn page(State(state): State<AppState>) -> Response {
    let (graph, warnings) = build(&state).await;
    problem::render(&GraphPage {
        view: view(&graph, warnings),
        refresh_ms: state.refresh.as_millis(),
    })
}

pub async fn fragment(State(state): State<AppState>) -> Response {
    let (graph, warnings) = build(&state).await;
    problem::render(&GraphFragment {
        view: view(&graph, warnings),
    })
}

#[derive(Serialize)]
struct GraphAnswer {
    #[serde(flatten)]
    graph: Graph,
    warnings: Vec<String>,
}

/// `/api/graph`: 200 with the graph; 502 when the metrics source could not be read at all.
pub async fn api(State(state): State<AppState>) -> Response {
    match state.metrics.traffic().await {
        Ok(traffic) => {
            let graph = Graph::from_traffic(
                state.metrics.kind(),
                state.metrics.window_seconds(),
                &traffic,
            );
            Json(GraphAnswer {
                graph,
                warnings: state.metrics.warnings(),
            })
            .into_response()
        }
        Err(error) => problem::json(StatusCode::BAD_GATEWAY, &error.to_string()),
    }
}
