//! The admin listener: what an operator (or the launcher) asks the proxy about itself.
//!
//! - `GET /ready`: 200 once a route table and a registry are in force, else 503.
//! - `GET /config_dump`: JSON of what is loaded: files, the latest diagnostics (each
//!   `file:line:col: severity: path: message`), a summary of every VirtualService rule, and the
//!   registry, and the live `circuit_breakers` (limits and use per destination) and `outlier`
//!   state (ejected endpoints per destination).
//! - `GET /stats`: plain `name value` counters (see `stats`), plus the gauge
//!   `outlier_ejections_active` (endpoints ejected right now).

use std::sync::Arc;

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use mesh_config::HttpRule;
use serde_json::{Value, json};

use crate::Proxy;
use crate::body::{self, Body};
use crate::state::Snapshot;

/// Answer one admin request.
pub async fn handle(proxy: Arc<Proxy>, request: Request<Incoming>) -> Response<Body> {
    if request.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_owned());
    }
    let snapshot = proxy.state.load_full();
    match request.uri().path() {
        "/ready" if snapshot.ready() => text(StatusCode::OK, "ready\n".to_owned()),
        "/ready" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no valid config or registry loaded yet\n".to_owned(),
        ),
        "/config_dump" => {
            let dump = config_dump(&proxy, &snapshot);
            let mut response = text(StatusCode::OK, format!("{dump:#}\n"));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        "/stats" => {
            let mut stats = proxy.stats.render();
            let ejected: usize = proxy.detectors.ejected().iter().map(|(_, e)| e.len()).sum();
            stats.push_str(&format!("outlier_ejections_active {ejected}\n"));
            text(StatusCode::OK, stats)
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "admin endpoints: /ready /config_dump /stats\n".to_owned(),
        ),
    }
}

fn text(status: StatusCode, message: String) -> Response<Body> {
    let mut response = Response::new(body::full(message));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn config_dump(proxy: &Proxy, snapshot: &Snapshot) -> Value {
    let settings = &proxy.settings;
    let virtual_services: Vec<Value> = snapshot
        .routes
        .iter()
        .flat_map(|routes| routes.table.virtual_services())
        .map(|vs| {
            json!({
                "name": vs.name,
                "namespace": vs.namespace,
                "hosts": vs.hosts,
                "rules": vs.rules.iter().map(rule_summary).collect::<Vec<_>>(),
            })
        })
        .collect();
    let circuit_breakers: Vec<Value> = proxy
        .breakers
        .all()
        .iter()
        .map(|(destination, breaker)| {
            let (connections, pending, retries) = breaker.usage();
            let l = breaker.limits;
            json!({
                "destination": destination.to_string(),
                "max_connections": l.max_connections,
                "max_pending_requests": l.max_pending,
                "max_requests": l.max_requests,
                "max_requests_per_connection": l.max_requests_per_connection,
                "max_retries": l.max_retries,
                "connections_in_use": connections,
                "pending": pending,
                "retries_in_progress": retries,
            })
        })
        .collect();
    let outlier: Vec<Value> = proxy
        .detectors
        .ejected()
        .iter()
        .map(|(destination, ejected)| {
            json!({
                "destination": destination.to_string(),
                "ejected": ejected.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "ready": snapshot.ready(),
        "namespace": settings.namespace,
        "config": {
            "dir": settings.config_dir,
            "files": snapshot.routes.as_ref().map(|r| &r.files),
            "rejected": snapshot.config_rejected,
            "diagnostics": snapshot.diagnostics,
            "virtual_services": virtual_services,
        },
        "registry": {
            "file": settings.registry,
            "error": snapshot.registry_error,
            "services": snapshot.registry.as_ref().map(|r| &r.services),
        },
        "circuit_breakers": circuit_breakers,
        "outlier": outlier,
    })
}

fn rule_summary(rule: &HttpRule) -> Value {
    json!({
        "index": rule.index,
        "name": rule.name,
        "matches": rule.matches.len(),
        "destinations": rule.destinations.iter().map(|d| json!({
            "host": d.host, "subset": d.subset, "port": d.port, "weight": d.weight,
        })).collect::<Vec<_>>(),
        "timeout_ms": rule.timeout.map(|t| t.as_millis()),
        "retries": rule.retries.as_ref().map(|r| json!({
            "attempts": r.attempts,
            "per_try_timeout_ms": r.per_try_timeout.map(|t| t.as_millis()),
            "retry_on": r.retry_on,
        })),
        "fault": rule.fault.map(|f| json!({
            "delay_ms": f.delay.map(|d| d.delay.as_millis()),
            "delay_percent": f.delay.map(|d| d.percent),
            "abort_status": f.abort.map(|a| a.http_status),
            "abort_percent": f.abort.map(|a| a.percent),
        })),
        "mirror": rule.mirror.as_ref().map(|m| &m.host),
    })
}
