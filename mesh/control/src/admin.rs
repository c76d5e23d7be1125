//! The admin HTTP endpoints, on `--admin` (istiod's monitoring port is 15014):
//!
//! - `GET /ready`: 200 once the first read of the config folder (with `--kubernetes`, the first
//!   list of every watched kind) is in force, 503 before;
//! - `GET /config_dump`: the snapshot in force (version, config version, file names, services)
//!   and the files refused, with their `file:line:col` diagnostics;
//! - `GET /proxies`: the connected proxies and their versions (the Admin gRPC `ProxyStatus`);
//! - `GET /metrics`: Prometheus text (see `metrics`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::control_plane::ControlPlane;
use crate::metrics::OPENMETRICS;
use crate::status;

/// The admin routes.
pub fn router(control: Arc<ControlPlane>) -> Router {
    Router::new()
        .route("/ready", get(ready))
        .route("/config_dump", get(config_dump))
        .route("/proxies", get(proxies))
        .route("/metrics", get(metrics))
        .with_state(control)
}

async fn ready(State(control): State<Arc<ControlPlane>>) -> Response {
    if control.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the config is being read for the first time\n",
        )
            .into_response()
    }
}

async fn config_dump(State(control): State<Arc<ControlPlane>>) -> Json<Value> {
    let published = control.snapshot();
    let snapshot = &published.snapshot;
    let config = control.config();
    let files: Vec<&str> = snapshot
        .config
        .iter()
        .map(|file| file.name.as_str())
        .collect();
    let refused: Vec<Value> = config
        .refused
        .iter()
        .map(|refused| json!({"file": refused.file, "diagnostics": refused.diagnostics}))
        .collect();
    let services: Vec<Value> = snapshot
        .services
        .iter()
        .map(|service| {
            let endpoints: Vec<Value> = service
                .endpoints
                .iter()
                .map(|endpoint| {
                    json!({
                        "address": endpoint.address,
                        "labels": endpoint.labels,
                        "proxy_id": endpoint.proxy_id,
                    })
                })
                .collect();
            json!({"name": service.name, "endpoints": endpoints})
        })
        .collect();
    Json(json!({
        "version": snapshot.version,
        "config_version": snapshot.config_version,
        "files": files,
        "refused": refused,
        "services": services,
    }))
}

async fn proxies(State(control): State<Arc<ControlPlane>>) -> Json<Value> {
    Json(status::to_json(&status::proxy_status(&control)))
}

async fn metrics(State(control): State<Arc<ControlPlane>>) -> Response {
    match control.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
