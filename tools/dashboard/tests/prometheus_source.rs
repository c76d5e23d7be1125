//! The Prometheus source: a fake Prometheus answers `/api/v1/query` as the real one does and
//! records the queries; the graph is built from its answers, and the queries have Kiali's shape.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use sailkit_dashboard::{Config, MetricsSource, start};
use serde_json::{Value, json};

use support::{get as http_get, get_json, serve};

const GROUP_BY: &str = "source_workload_namespace,source_workload,source_canonical_service,\
source_canonical_revision,destination_service_namespace,destination_service,\
destination_service_name,destination_workload_namespace,destination_workload,\
destination_canonical_service,destination_canonical_revision,request_protocol,response_code,\
grpc_response_status,response_flags";

fn row(from: &str, to: &str, code: &str, value: &str) -> Value {
    let (to_app, to_version) = to.rsplit_once('-').unwrap_or((to, "unknown"));
    json!({
        "metric": {
            "source_workload": from,
            "source_workload_namespace": if from == "unknown" { "unknown" } else { "default" },
            "source_canonical_service": from.split('-').next().unwrap_or(from),
            "source_canonical_revision": from.rsplit('-').next().unwrap_or(from),
            "destination_workload": to,
            "destination_workload_namespace": "default",
            "destination_canonical_service": to_app,
            "destination_canonical_revision": to_version,
            "destination_service": format!("{to_app}.default.svc.cluster.local"),
            "response_code": code,
        },
        "value": [1_700_000_000.0, value],
    })
}

fn vector(result: Vec<Value>) -> Json<Value> {
    Json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
}

/// Answers like Prometheus for the queries the dashboard makes, and records them all.
async fn fake_prometheus(queries: Arc<Mutex<Vec<String>>>) -> std::net::SocketAddr {
    let router = Router::new().route(
        "/api/v1/query",
        get(move |Query(params): Query<HashMap<String, String>>| {
            let queries = queries.clone();
            async move {
                let query = params.get("query").cloned().unwrap_or_default();
                queries.lock().expect("not poisoned").push(query.clone());
                let result = if query.starts_with("sum(rate(istio_requests_total{reporter=\"source\"}") {
                    vec![
                        row("productpage-v1", "reviews-v3", "200", "6"),
                        row("productpage-v1", "reviews-v3", "500", "3"),
                        row("productpage-v1", "reviews-v3", "0", "1"),
                        row("productpage-v1", "details-v1", "200", "0"),
                    ]
                } else if query.starts_with("sum(rate(istio_requests_total{reporter=\"destination\",source_workload=\"unknown\"}") {
                    vec![row("unknown", "productpage-v1", "200", "5")]
                } else if query.starts_with("histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter=\"source\"}") {
                    vec![row("productpage-v1", "reviews-v3", "", "2500"), row("productpage-v1", "details-v1", "", "NaN")]
                } else if query.starts_with("histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{reporter=\"source\"}") {
                    vec![row("productpage-v1", "reviews-v3", "", "1200")]
                } else if query.contains("by (response_code)") && query.contains("destination_workload=\"reviews-v3\"") && query.contains("reporter=\"destination\"") {
                    vec![
                        json!({"metric": {"response_code": "200"}, "value": [1.0, "6"]}),
                        json!({"metric": {"response_code": "503"}, "value": [1.0, "4"]}),
                    ]
                } else if query.starts_with("histogram_quantile(0.5,") && query.contains("reviews-v3") {
                    vec![json!({"metric": {}, "value": [1.0, "12.5"]})]
                } else {
                    vec![]
                };
                vector(result)
            }
        }),
    );
    serve(router).await
}

fn edge<'a>(graph: &'a Value, to: &str) -> &'a Value {
    graph["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|edge| edge["destination_workload"] == to)
        .unwrap_or_else(|| panic!("no edge to {to} in {graph}"))
}

#[tokio::test]
async fn the_graph_comes_from_kiali_shaped_queries() {
    let queries = Arc::new(Mutex::new(Vec::new()));
    let prometheus = fake_prometheus(queries.clone()).await;
    let dashboard = start(Config::local(MetricsSource::prometheus(format!(
        "http://{prometheus}/"
    ))))
    .await
    .unwrap();
    let http = dashboard.http_addr;

    let (status, graph) = get_json(http, "/api/graph").await;
    assert_eq!(status, 200, "{graph}");
    assert_eq!(graph["source"], "prometheus");
    assert_eq!(graph["window_seconds"], 60);
    let reviews = edge(&graph, "reviews-v3");
    assert_eq!(reviews["rps"], 10.0);
    // 500s and code 0 (no answer) are errors.
    assert_eq!(reviews["error_rate"], 0.4);
    assert_eq!(reviews["p95_ms"], 1200.0);
    assert_eq!(reviews["p99_ms"], 2500.0);
    assert_eq!(reviews["state"], "failing");
    let details = edge(&graph, "details-v1");
    assert_eq!(
        (details["state"].as_str(), &details["p99_ms"]),
        (Some("idle"), &Value::Null)
    );
    assert_eq!(edge(&graph, "productpage-v1")["source_workload"], "unknown");

    let asked = queries.lock().unwrap().clone();
    assert_eq!(
        &asked[..2],
        [
            format!(
                "sum(rate(istio_requests_total{{reporter=\"destination\",source_workload=\"unknown\"}}[60s])) by ({GROUP_BY})"
            ),
            format!("sum(rate(istio_requests_total{{reporter=\"source\"}}[60s])) by ({GROUP_BY})"),
        ]
    );
    let ends = "source_workload_namespace,source_workload,source_canonical_service,\
        source_canonical_revision,destination_service,destination_service_namespace,\
        destination_service_name,destination_workload_namespace,destination_workload,destination_canonical_service,destination_canonical_revision";
    assert_eq!(
        asked[3],
        format!(
            "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{{reporter=\"source\"}}[60s])) by (le,{ends}) \
             or sum(rate(istio_request_duration_milliseconds_bucket{{reporter=\"destination\",source_workload=\"unknown\"}}[60s])) by (le,{ends}))"
        )
    );
    assert_eq!(asked.len(), 4);

    // The workload page asks for that workload's signals, with its name quoted in the selector.
    queries.lock().unwrap().clear();
    let (status, page) = http_get(http, "/workloads/default/reviews-v3").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"<td class="number error-rate">40.0 %</td>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<td class="number p50">12.5 ms</td>"#),
        "{page}"
    );
    let asked = queries.lock().unwrap().clone();
    assert!(asked.contains(&"sum(rate(istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"default\",destination_workload=\"reviews-v3\"}[60s])) by (response_code)".to_string()), "{asked:#?}");
    assert!(asked.contains(&"histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter=\"destination\",destination_workload_namespace=\"default\",destination_workload=\"reviews-v3\"}[60s])) by (le))".to_string()), "{asked:#?}");
    // reviews-v3 calls nobody: its outbound rate query finds no series, so no quantile is asked.
    assert!(asked.contains(&"sum(rate(istio_requests_total{reporter=\"source\",source_workload_namespace=\"default\",source_workload=\"reviews-v3\"}[60s])) by (response_code)".to_string()), "{asked:#?}");
    assert_eq!(
        asked
            .iter()
            .filter(|q| q.starts_with("histogram_quantile"))
            .count(),
        3 + 2
    );
}

#[tokio::test]
async fn a_prometheus_that_fails_is_a_502_and_a_warning() {
    // Nobody listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dashboard = start(Config::local(MetricsSource::prometheus(format!(
        "http://{closed}"
    ))))
    .await
    .unwrap();
    let http = dashboard.http_addr;
    let (status, json) = get_json(http, "/api/graph").await;
    assert_eq!(status, 502);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains(&closed.to_string()),
        "{json}"
    );
    let (status, page) = http_get(http, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("cannot reach Prometheus"), "{page}");

    // A server that is not Prometheus.
    let other = serve(Router::new().route("/api/v1/query", get(|| async { "hello" }))).await;
    let dashboard = start(Config::local(MetricsSource::prometheus(format!(
        "http://{other}"
    ))))
    .await
    .unwrap();
    let (status, json) = get_json(dashboard.http_addr, "/api/graph").await;
    assert_eq!(status, 502);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("not Prometheus JSON"),
        "{json}"
    );
}
