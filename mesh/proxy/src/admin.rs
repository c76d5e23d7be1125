//! The admin listener: what an operator (or the launcher) asks the proxy about itself.
//!
//! - `GET /ready`: 200 once a route table and a registry are in force (with `--control-plane`:
//!   once the first snapshot is applied; with `--app-addr-file`: once the application's address
//!   is known), else 503 with the reason.
//! - `GET /config_dump`: JSON of what is loaded: files, the latest diagnostics (each
//!   `file:line:col: severity: path: message`), the `version` of the latest config attempt
//!   and whether a new one is `loading` (see `state::config_version`), a summary of every
//!   VirtualService rule, and the registry, the application's address (`app`: `--app` or
//!   `--app-addr-file`, with the latest read error), and the live `circuit_breakers` (limits and
//!   use per destination) and `outlier` state (ejected endpoints per destination). Its `source`
//!   says where the config comes from: `{"config_dir", "registry"}` for files, or
//!   `{"control_plane", "connected", "snapshot_version", "last_error"}` with `--control-plane`.
//!   `routes`, `clusters` and `endpoints` say what the proxy routes with, in Envoy's terms: the
//!   rules of its listener, every service and subset with the policy applied there, and every
//!   endpoint with its outlier state (see `admin_config`; `sailkit proxy-config` prints them).
//! - `GET /stats`: plain `name value` counters (see `stats`), plus the gauge
//!   `outlier_ejections_active` (endpoints ejected right now).
//! - `GET /stats/prometheus`: Istio's standard metrics (`istio_requests_total` and the
//!   duration and size histograms, with Istio's labels: see `metrics`), then the same counters
//!   as `/stats` in Prometheus' text format (names in `docs/proxy-lifecycle.md`).

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
        "/ready" => match snapshot.not_ready(&proxy.settings) {
            None => text(StatusCode::OK, "ready\n".to_owned()),
            Some(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
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
            stats.push_str(&format!("outlier_ejections_active {}\n", ejected(&proxy)));
            text(StatusCode::OK, stats)
        }
        "/stats/prometheus" => {
            let metrics = (proxy.stats).render_prometheus(&proxy.metrics, ejected(&proxy));
            let mut response = text(StatusCode::OK, metrics);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
            response
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "admin endpoints: /ready /config_dump /stats /stats/prometheus\n".to_owned(),
        ),
    }
}

/// The content type of Prometheus' text exposition format, version 0.0.4.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Endpoints ejected by outlier detection right now, over every destination.
fn ejected(proxy: &Proxy) -> usize {
    proxy.detectors.ejected().iter().map(|(_, e)| e.len()).sum()
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
            let mut entry = crate::admin_config::limits(&breaker.limits);
            entry["destination"] = json!(destination.to_string());
            entry["connections_in_use"] = json!(connections);
            entry["pending"] = json!(pending);
            entry["retries_in_progress"] = json!(retries);
            entry
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
    let mut dump = json!({
        "ready": snapshot.not_ready(settings).is_none(),
        "namespace": settings.namespace,
        "config": {
            "dir": settings.config_dir,
            "files": snapshot.routes.as_ref().map(|r| &r.files),
            "rejected": snapshot.config_rejected,
            "version": snapshot.config_version,
            "loading": snapshot.config_loading,
            "diagnostics": snapshot.diagnostics,
            "virtual_services": virtual_services,
        },
        "source": source(settings, snapshot),
        "registry": {
            // Empty, so null, with `--control-plane`.
            "file": settings.control_plane.is_none().then_some(&settings.registry),
            "error": snapshot.registry_error,
            "services": snapshot.registry.as_ref().map(|r| &r.services),
        },
        "app": {
            "address": snapshot.app.map(|a| a.to_string()),
            "file": settings.app_addr_file,
            "error": snapshot.app_error,
        },
        "circuit_breakers": circuit_breakers,
        "outlier": outlier,
    });
    for (key, section) in crate::admin_config::sections(proxy, snapshot) {
        dump[key] = section;
    }
    dump
}

/// Where the config comes from: the files, or the control plane and how the link is.
fn source(settings: &crate::Settings, snapshot: &Snapshot) -> Value {
    match &settings.control_plane {
        None => json!({
            "config_dir": settings.config_dir,
            "registry": settings.registry,
        }),
        Some(url) => json!({
            "control_plane": url,
            "connected": snapshot.control.connected,
            "snapshot_version": snapshot.control.snapshot_version,
            "last_error": snapshot.control.last_error,
        }),
    }
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
