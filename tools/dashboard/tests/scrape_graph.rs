//! The scrape source end to end: a fake sidecar serves Prometheus text whose counters grow with
//! time at known rates; the dashboard scrapes it and `/api/graph`, `/` and the workload page
//! show the rates, error rates and p99 those growths mean.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use sailkit_dashboard::{Config, MetricsSource, start};
use serde_json::Value;

use support::{eventually, get as http_get, get_json, serve};

/// Labels of a request from `from` to `to` as `reporter` saw it.
fn labels(reporter: &str, from: &str, to: &str, code: &str) -> String {
    let (from_app, from_version) = from.rsplit_once('-').unwrap_or((from, "unknown"));
    let (to_app, to_version) = to.rsplit_once('-').unwrap_or((to, "unknown"));
    let from_namespace = if from == "unknown" {
        "unknown"
    } else {
        "default"
    };
    format!(
        "reporter=\"{reporter}\",source_workload=\"{from}\",source_workload_namespace=\"{from_namespace}\",\
         source_canonical_service=\"{from_app}\",source_canonical_revision=\"{from_version}\",\
         destination_workload=\"{to}\",destination_workload_namespace=\"default\",\
         destination_canonical_service=\"{to_app}\",destination_canonical_revision=\"{to_version}\",\
         destination_service=\"{to_app}.default.svc.cluster.local\",response_code=\"{code}\",\
         response_flags=\"-\""
    )
}

/// The exposition at `t` seconds after the fake sidecar started: every counter is its rate
/// times `t`, so any two scrapes measure exactly these rates.
fn exposition(t: f64) -> String {
    let mut text = String::from("# TYPE istio_requests_total counter\n");
    let mut line = |name: &str, labels: String, value: f64| {
        text.push_str(&format!("{name}{{{labels}}} {value}\n"));
    };
    let ok = labels("source", "productpage-v1", "reviews-v2", "200");
    let failed = labels("source", "productpage-v1", "reviews-v2", "503");
    line("istio_requests_total", ok.clone(), 7.0 * t);
    line("istio_requests_total", failed.clone(), 3.0 * t);
    // Of 10 requests a second: 5 under 5 ms, 4 in (5, 10], 1 in (10, 25]: p99 is 23.5 ms.
    for (le, rate) in [("5", 4.0), ("10", 6.0), ("25", 7.0), ("+Inf", 7.0)] {
        line(
            "istio_request_duration_milliseconds_bucket",
            format!("{ok},le=\"{le}\""),
            rate * t,
        );
    }
    for (le, rate) in [("5", 1.0), ("10", 3.0), ("25", 3.0), ("+Inf", 3.0)] {
        line(
            "istio_request_duration_milliseconds_bucket",
            format!("{failed},le=\"{le}\""),
            rate * t,
        );
    }
    line(
        "istio_request_duration_milliseconds_sum",
        ok.clone(),
        50.0 * t,
    );
    // An edge that saw requests once, and none since: idle.
    line(
        "istio_requests_total",
        labels("source", "productpage-v1", "details-v1", "200"),
        42.0,
    );
    // Callers from outside the mesh, as productpage's own sidecar reports them.
    line(
        "istio_requests_total",
        labels("destination", "unknown", "productpage-v1", "200"),
        4.0 * t,
    );
    // reviews-v2's sidecar reporting the same requests as productpage's: not a second edge.
    line(
        "istio_requests_total",
        labels("destination", "productpage-v1", "reviews-v2", "200"),
        7.0 * t,
    );
    line(
        "istio_requests_total",
        labels("destination", "productpage-v1", "reviews-v2", "503"),
        3.0 * t,
    );
    text.push_str("envoy_cluster_upstream_rq_total{cluster=\"x\"} 7\n");
    text
}

async fn fake_sidecar() -> std::net::SocketAddr {
    let started = Arc::new(Instant::now());
    let router = Router::new().route(
        "/stats/prometheus",
        get(move || {
            let started = started.clone();
            async move { exposition(started.elapsed().as_secs_f64()) }
        }),
    );
    serve(router).await
}

fn scrape(targets: Vec<String>) -> Config {
    Config::local(MetricsSource::Scrape {
        targets,
        interval: Duration::from_millis(100),
        window: Duration::from_secs(1),
    })
}

fn edge<'a>(graph: &'a Value, from: &str, to: &str) -> Option<&'a Value> {
    graph["edges"]
        .as_array()?
        .iter()
        .find(|edge| edge["source_workload"] == from && edge["destination_workload"] == to)
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[tokio::test]
async fn the_graph_shows_rates_errors_p99_and_idle_edges() {
    let sidecar = fake_sidecar().await;
    let dashboard = start(scrape(vec![format!("http://{sidecar}")]))
        .await
        .unwrap();
    let http = dashboard.http_addr;

    // Wait for a window's worth of scrapes, so the rates are over about a second.
    eventually(15, || async {
        let (status, graph) = get_json(http, "/api/graph").await;
        assert_eq!(status, 200);
        let reviews = edge(&graph, "productpage-v1", "reviews-v2")?;
        (number(&reviews["rps"]) > 0.0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, graph) = get_json(http, "/api/graph").await;
    assert_eq!(graph["source"], "scrape");

    let reviews = edge(&graph, "productpage-v1", "reviews-v2").unwrap();
    let rps = number(&reviews["rps"]);
    assert!((rps - 10.0).abs() < 1.0, "rps {rps}");
    assert!(
        (number(&reviews["error_rate"]) - 0.3).abs() < 1e-6,
        "{reviews}"
    );
    assert!(
        (number(&reviews["p99_ms"]) - 23.5).abs() < 1e-6,
        "{reviews}"
    );
    assert_eq!(reviews["state"], "failing");
    assert_eq!(reviews["source"], "default/productpage-v1");

    let details = edge(&graph, "productpage-v1", "details-v1").unwrap();
    assert_eq!(number(&details["rps"]), 0.0);
    assert_eq!(details["state"], "idle");
    assert_eq!(details["p99_ms"], Value::Null);

    let outside = edge(&graph, "unknown", "productpage-v1").unwrap();
    assert!((number(&outside["rps"]) - 4.0).abs() < 0.5, "{outside}");
    assert_eq!(outside["state"], "healthy");

    // Destination reports of in-mesh callers do not add edges or double the rates.
    assert_eq!(graph["edges"].as_array().unwrap().len(), 3, "{graph}");
    let mut nodes: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        ["details-v1", "productpage-v1", "reviews-v2", "unknown"]
    );

    // The page draws the same edges, marked, with the failing edge's traces one click away.
    let (status, page) = http_get(http, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains(
        r#"<g class="edge edge-failing" data-source="productpage-v1" data-destination="reviews-v2""#
    ), "{page}");
    assert!(page.contains(
        r#"<g class="edge edge-idle" data-source="productpage-v1" data-destination="details-v1""#
    ));
    // Its p99 (23.5 ms, printed whole) is in the drawing too, and far from slow; an idle edge
    // has none.
    let p99 = page
        .split(r#"data-state="failing" data-p99-ms=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert!(p99 == "23" || p99 == "24", "{page}");
    assert!(page.contains(r#"data-state="idle">"#), "{page}");
    assert!(!page.contains("slow\""), "{page}");
    let link = page
        .split(r#"class="edge-traces" href=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert_eq!(
        link, "/traces?from=productpage-v1&to=reviews-v2&error=1",
        "{page}"
    );
    assert!(page.contains(r#"data-workload="reviews-v2""#));
    assert!(
        page.contains(r#"<td class="number p99">23.5 ms</td>"#),
        "{page}"
    );
    assert!(!page.contains("No traffic yet"));
    // It redraws itself from the fragment, with a few lines of inline script.
    assert!(page.contains(r#"fetch("/fragment/graph""#), "{page}");
    let (status, fragment) = http_get(http, "/fragment/graph").await;
    assert_eq!(status, 200);
    assert!(fragment.starts_with("\n<svg") || fragment.contains("<svg id=\"graph-svg\""));
    assert!(!fragment.contains("<html"));

    // The workload page: inbound from reviews-v2's own reports, outbound from productpage's.
    let (status, page) = http_get(http, "/workloads/default/reviews-v2").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<tr class="inbound error">"#), "{page}");
    assert!(
        page.contains(r#"<td class="number error-rate">30.0 %</td>"#),
        "{page}"
    );
    assert!(page.contains(r#"<table id="callers">"#));
    let (_, page) = http_get(http, "/workloads/default/productpage-v1").await;
    assert!(page.contains(r#"<tr class="outbound error">"#), "{page}");
    assert!(
        page.contains(r#"<td class="number p99">23.5 ms</td>"#),
        "{page}"
    );
    assert!(page.contains(r#"<table id="callees">"#), "{page}");
    assert!(page.contains(r#"data-workload="details-v1""#));

    dashboard.stop().await;
}

#[tokio::test]
async fn every_page_is_useful_before_any_traffic() {
    let dashboard = start(scrape(vec![])).await.unwrap();
    let http = dashboard.http_addr;
    let (status, page) = http_get(http, "/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"id="no-traffic""#) && page.contains("sailkit load"),
        "{page}"
    );
    let (status, page) = http_get(http, "/workloads/default/reviews-v1").await;
    assert_eq!(status, 200);
    assert!(page.contains("No traffic yet"), "{page}");
    let (status, graph) = get_json(http, "/api/graph").await;
    assert_eq!(status, 200);
    assert_eq!(graph["edges"], serde_json::json!([]));
    let (status, page) = http_get(http, "/traces").await;
    assert_eq!(status, 200);
    assert!(page.contains("No traces yet"), "{page}");
}

#[tokio::test]
async fn a_sidecar_that_does_not_answer_is_named_in_the_warnings() {
    // A port nobody listens on: bind one, note it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dashboard = start(scrape(vec![format!("http://{closed}")]))
        .await
        .unwrap();
    let http = dashboard.http_addr;
    let warning = eventually(10, || async {
        let (_, graph) = get_json(http, "/api/graph").await;
        graph["warnings"][0].as_str().map(str::to_string)
    })
    .await;
    assert!(
        warning.contains(&format!("http://{closed}/stats/prometheus")),
        "{warning}"
    );
    let (status, page) = http_get(http, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"class="warning""#), "{page}");
}

#[tokio::test]
async fn bad_addresses_get_4xx_pages_not_panics() {
    let dashboard = start(scrape(vec![])).await.unwrap();
    let http = dashboard.http_addr;
    for (path, status, says) in [
        ("/traces/not-hex", 400, "is not a trace id"),
        ("/traces/0123456789abcdef0123456789abcdef", 404, "No trace"),
        ("/traces?error=maybe", 400, "error=maybe"),
        ("/traces?id=xyz", 400, "is not a trace id"),
        (
            "/traces?from=a%22b",
            400,
            "is not a service or workload name",
        ),
        ("/workloads/default/a%7Bb", 400, "/workloads/NAMESPACE/NAME"),
        ("/nowhere", 404, "There is no page at /nowhere"),
    ] {
        let (got, body) = http_get(http, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
    let (status, json) = get_json(http, "/api/nothing").await;
    assert_eq!(status, 404);
    assert!(json["error"].as_str().unwrap().contains("/api/nothing"));
}
