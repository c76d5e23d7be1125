//! The dashboard's HTTP side: server-rendered pages (askama templates in `templates/`) and
//! `/api/graph`. One file per page family; [`problem`] is every 4xx/5xx answer.

mod access_log;
mod format;
mod graph;
mod in_force;
mod problem;
mod traces;
mod workloads;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::get;

use crate::metrics::Metrics;
use crate::traces::store::TraceStore;

/// What every handler reads.
#[derive(Clone)]
pub struct AppState {
    pub metrics: Metrics,
    pub store: Arc<TraceStore>,
    /// How often the graph page fetches a fresh drawing.
    pub refresh: Duration,
    /// The folder of the proxies' log files (`--access-logs`), for a trace's access log lines.
    pub access_logs: Option<Arc<PathBuf>>,
    /// The control plane's gRPC address (`--control-plane`), for a workload's routing in force;
    /// a launcher may give it once the control plane listens ([`crate::Running::set_control_plane`]).
    pub control_plane: Arc<RwLock<Option<String>>>,
}

/// Pages load nothing from elsewhere: no CDN, and the one inline script refreshes the graph.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    script-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; form-action 'self'";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(graph::page))
        .route("/fragment/graph", get(graph::fragment))
        .route("/api/graph", get(graph::api))
        .route("/traces", get(traces::list))
        .route("/traces/{id}", get(traces::one))
        .route("/workloads/{namespace}/{name}", get(workloads::page))
        .route("/health", get(|| async { "ok\n" }))
        .fallback(problem::not_found)
        .with_state(state)
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
