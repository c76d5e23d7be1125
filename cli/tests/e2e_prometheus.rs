//! End to end: a real Prometheus scrapes every sidecar of a stack (`sailkit up --inbound`, so
//! both Istio reporters count) while `sailkit load` runs, and then every query of the Grafana
//! dashboards in `docker/grafana/dashboards/` runs against it, as Grafana would send it.
//!
//! What is checked:
//! - every panel query and every variable query returns data (Grafana cannot be run here: this
//!   is what stands in for it);
//! - the numbers agree with what `sailkit load` counted: the pages productpage's sidecar saw
//!   (`reporter="destination"`), the calls to details (one per page) on the Service dashboard's
//!   "Client request volume", and the Mesh dashboard's success rate, all 200s;
//! - the mesh dashboard (`sailkit dashboard --prometheus`) runs every query its graph and its
//!   workload pages use against the same Prometheus: Bookinfo's edges are there, the calls to
//!   details at the load's rate, and reviews-v2's golden signals.
//!
//! The tolerance is 10 % plus 5 requests: Prometheus' `rate()` extrapolates at the edges of its
//! window and cannot see the increase that made a series appear, and the dashboards' one-minute
//! windows are compared with a load that ran a known number of requests inside them.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::Stack;
use support::prometheus::{Prometheus, sample_value, target_count};

/// The local stack's namespace (the sidecars' `--namespace` default).
const NAMESPACE: &str = "default";

/// How long the load runs, and at what rate: well inside the dashboards' one-minute windows.
const LOAD_SECONDS: u64 = 20;
const LOAD_QPS: u64 = 10;

/// The values the dashboards' variables take in this test: reviews (three versions, one of
/// which calls ratings) has data in every panel.
const SERVICE: &str = "reviews.default.svc.cluster.local";
const WORKLOAD: &str = "reviews-v2";

fn dashboards() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docker/grafana/dashboards");
    let mut boards: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("docker/grafana/dashboards")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("dashboard");
            let board =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.display().to_string(), board)
        })
        .collect();
    boards.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(boards.len(), 3, "Mesh, Service and Workload");
    boards
}

/// Every (panel title, query) of a dashboard, its variables replaced by this test's values.
fn panel_queries(board: &Value) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    for panel in board["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("every target has an expr");
            let title = panel["title"].as_str().unwrap_or("?").to_owned();
            queries.push((title, with_variables(expr)));
        }
    }
    queries
}

fn with_variables(expr: &str) -> String {
    expr.replace("$namespace", NAMESPACE)
        .replace("$service", SERVICE)
        .replace("$workload", WORKLOAD)
}

/// A variable's `label_values(SELECTOR, LABEL)` as the PromQL that lists those values.
fn variable_query(definition: &str) -> (String, String) {
    let inner = definition
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("a label_values(...) variable: {definition}"));
    let (selector, label) = inner
        .rsplit_once(',')
        .expect("label_values(selector, label)");
    (
        format!("count by ({}) ({})", label.trim(), with_variables(selector)),
        label.trim().to_owned(),
    )
}

fn close(measured: f64, expected: f64) -> bool {
    (measured - expected).abs() <= expected * 0.10 + 5.0
}

#[tokio::test]
async fn every_dashboard_query_returns_data_that_agrees_with_the_load() {
    let stack = Stack::start_with(&["--inbound"]);
    let Some(prometheus) = Prometheus::start(&stack.state).await else {
        return;
    };
    prometheus
        .until_targets_up(target_count(&stack.state))
        .await;

    // The series exist before the load starts (a few pages, then two scrapes), so the load's
    // requests are all increases that `rate()` sees.
    let client = support::http();
    for _ in 0..6 {
        let page = client.get(&stack.state.app_url).send().await.expect("page");
        assert!(page.status().is_success());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pages = "sum(istio_requests_total{reporter=\"destination\",\
                 destination_workload=\"productpage-v1\"})";
    let before = prometheus.number(pages).await;
    assert!(
        before >= 6.0,
        "productpage's sidecar counted {before} pages"
    );

    let url = stack.state.app_url.clone();
    let duration = format!("{LOAD_SECONDS}s");
    let qps = LOAD_QPS.to_string();
    let output = tokio::task::spawn_blocking(move || {
        support::run(&[
            "load", "-c", "2", "--qps", &qps, "-t", &duration, "--json", &url,
        ])
    })
    .await
    .expect("load thread");
    assert!(output.status.success(), "load: {output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("load JSON");
    let loaded = report["requests"].as_f64().expect("requests in the report");
    assert_eq!(report["errors"], 0, "{report:#}");
    assert!(
        loaded >= (LOAD_SECONDS * LOAD_QPS) as f64 * 0.9,
        "{report:#}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // 1. The counter at productpage's own sidecar: every page of the load, once.
    let counted = prometheus.number(pages).await - before;
    assert!(
        close(counted, loaded),
        "productpage's sidecar counted {counted} pages, the load made {loaded}"
    );

    // 2. Every variable and every panel of the three dashboards returns data.
    let mut ran = 0;
    for (file, board) in dashboards() {
        for variable in board["templating"]["list"].as_array().into_iter().flatten() {
            let definition = variable["definition"].as_str().expect("definition");
            let (promql, label) = variable_query(definition);
            let values: Vec<String> = prometheus
                .query(&promql)
                .await
                .iter()
                .filter_map(|s| s["metric"][&label].as_str().map(str::to_owned))
                .collect();
            let wanted = match label.as_str() {
                "destination_service" => SERVICE,
                "destination_workload" => WORKLOAD,
                _ => NAMESPACE,
            };
            assert!(
                values.iter().any(|v| v == wanted),
                "{file}: variable {definition} gives {values:?}, without {wanted}"
            );
        }
        for (title, promql) in panel_queries(&board) {
            let result = prometheus.query(&promql).await;
            assert!(
                !result.is_empty(),
                "{file}: panel \"{title}\" returned no data:\n{promql}"
            );
            ran += 1;
        }
    }
    assert!(ran >= 30, "{ran} panel queries");

    // 3. Panels whose numbers the load predicts. "Client request volume" of details: one call
    //    per page; the window covers the whole load, so rate × 60 s is the calls made in it.
    let (_, service_board) = &dashboards()[1];
    let details_rate = panel_queries(service_board)
        .into_iter()
        .find(|(title, _)| title == "Client request volume")
        .map(|(_, promql)| promql.replace(SERVICE, "details.default.svc.cluster.local"))
        .expect("the Service dashboard's Client request volume");
    let calls = prometheus.number(&details_rate).await * 60.0;
    assert!(
        close(calls, loaded),
        "the Service dashboard shows {calls} calls to details in a minute; the load made {loaded} pages:\n{details_rate}"
    );
    let (_, mesh_board) = &dashboards()[0];
    let success = panel_queries(mesh_board)
        .into_iter()
        .find(|(title, _)| title.starts_with("Global success rate"))
        .map(|(_, promql)| promql)
        .expect("the Mesh dashboard's success rate");
    let rate = prometheus.query(&success).await;
    assert_eq!(
        rate.iter().map(sample_value).sum::<f64>(),
        1.0,
        "no request failed: {rate:?}"
    );

    // 4. The mesh dashboard on the same Prometheus, with Kiali's queries over its one-minute
    //    window: the graph has Bookinfo's calls, productpage → details at one call per page.
    let dashboard = sailkit_dashboard::start(sailkit_dashboard::Config::local(
        sailkit_dashboard::MetricsSource::prometheus(prometheus.url.clone()),
    ))
    .await
    .expect("the dashboard starts");
    let base = format!("http://{}", dashboard.http_addr);
    let graph: Value = client
        .get(format!("{base}/api/graph"))
        .send()
        .await
        .expect("/api/graph")
        .json()
        .await
        .expect("the graph is JSON");
    assert_eq!(graph["source"], "prometheus", "{graph:#}");
    let edge = |from: &str, to: &str| {
        graph["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["source_workload"] == from && e["destination_workload"] == to)
            .cloned()
            .unwrap_or_else(|| panic!("no edge {from} → {to} in {graph:#}"))
    };
    for (from, to) in [
        ("productpage-v1", "reviews-v1"),
        ("productpage-v1", "reviews-v2"),
        ("productpage-v1", "reviews-v3"),
        ("reviews-v2", "ratings-v1"),
        ("reviews-v3", "ratings-v1"),
    ] {
        let edge = edge(from, to);
        assert_eq!(edge["state"], "healthy", "{edge:#}");
        assert!(edge["p99_ms"].as_f64().is_some(), "a p99: {edge:#}");
    }
    let details = edge("productpage-v1", "details-v1");
    let calls = details["rps"].as_f64().expect("rps") * 60.0;
    assert!(
        close(calls, loaded),
        "the graph shows {calls} calls to details in a minute; the load made {loaded} pages: {details:#}"
    );
    let page = client
        .get(format!("{base}/workloads/{NAMESPACE}/{WORKLOAD}"))
        .send()
        .await
        .expect("the workload page");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("the page");
    assert!(
        page.contains(r#"data-workload="ratings-v1""#)
            && page.contains(r#"data-workload="productpage-v1""#),
        "reviews-v2's page names its caller and its callee:\n{page}"
    );
    dashboard.stop().await;
}
