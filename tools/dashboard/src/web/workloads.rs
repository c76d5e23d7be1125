//! `/workloads/{namespace}/{name}`: a workload's golden signals, what it serves (inbound) and
//! what it calls (outbound), and the edges on each side.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::format::{SignalsRow, millis, percent, rate};
use super::in_force::{RoutingSection, routing_section};
use super::{AppState, problem};
use crate::graph::model::Graph;
use crate::metrics::istio::is_safe_name;

struct PeerRow {
    workload: String,
    namespace: String,
    rps: String,
    error_rate: String,
    p99: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "workload.html")]
struct WorkloadPage {
    namespace: String,
    name: String,
    inbound: SignalsRow,
    outbound: SignalsRow,
    callers: Vec<PeerRow>,
    callees: Vec<PeerRow>,
    warnings: Vec<String>,
    routing: RoutingSection,
}

pub async fn page(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    if !is_safe_name(&namespace) || !is_safe_name(&name) {
        return problem::page(
            StatusCode::BAD_REQUEST,
            "A workload address is /workloads/NAMESPACE/NAME, with letters, digits, `-`, `.`, `_`.",
        );
    }
    let mut warnings = state.metrics.warnings();
    let signals = state
        .metrics
        .workload(&namespace, &name)
        .await
        .unwrap_or_else(|error| {
            warnings.push(error.to_string());
            Default::default()
        });
    let traffic = state.metrics.traffic().await.unwrap_or_else(|error| {
        warnings.push(error.to_string());
        Vec::new()
    });
    let graph = Graph::from_traffic(
        state.metrics.kind(),
        state.metrics.window_seconds(),
        &traffic,
    );
    let id = format!("{namespace}/{name}");
    let peers = |of_interest: &dyn Fn(&crate::graph::model::Edge) -> Option<String>| {
        graph
            .edges
            .iter()
            .filter_map(|edge| {
                let peer = of_interest(edge)?;
                let (namespace, workload) = peer.split_once('/').unwrap_or(("", &peer));
                Some(PeerRow {
                    workload: workload.to_string(),
                    namespace: namespace.to_string(),
                    rps: rate(edge.rps),
                    error_rate: percent(edge.error_rate),
                    p99: millis(edge.p99_ms),
                    state: edge.state.as_str(),
                })
            })
            .collect::<Vec<_>>()
    };
    let callers = peers(&|edge| (edge.destination == id).then(|| edge.source.clone()));
    let callees = peers(&|edge| (edge.source == id).then(|| edge.destination.clone()));
    let routing = routing_section(&state, &namespace, &name).await;
    problem::render(&WorkloadPage {
        routing,
        inbound: SignalsRow::from(&signals.inbound),
        outbound: SignalsRow::from(&signals.outbound),
        namespace,
        name,
        callers,
        callees,
        warnings,
    })
}
