//! Self-explaining failures: an answer the proxy makes itself names the hop that failed
//! (`x-sailkit-failed-hop`: caller, callee and the instance, if one was picked), the time spent,
//! the trace id and the request id, in headers, and in a JSON body when the caller asked for
//! JSON; on the outbound side, the gateway's and the inbound side.

mod support;

use std::net::SocketAddr;

use support::{App, InboundProxy, Mesh};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

async fn productpage_sidecar(ratings: SocketAddr, files: &[(&str, String)]) -> Mesh {
    Mesh::start_as(
        &[("app", "productpage"), ("version", "v1")],
        &[("ratings", vec![(ratings, "v1")])],
        files,
    )
    .await
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn a_refused_connection_names_the_hop_and_the_instance() {
    let down = support::refused_addr();
    let mesh = productpage_sidecar(down, &[]).await;
    let response = mesh
        .client
        .get("http://ratings:9080/ratings/0")
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .header("x-request-id", "req-1")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(
        header(&response, "x-sailkit-failed-hop"),
        format!("productpage-v1 -> ratings:9080 ({down})")
    );
    assert_eq!(header(&response, "x-sailkit-flags"), "UF,URX");
    assert_eq!(header(&response, "x-sailkit-failed"), "upstream");
    assert_eq!(header(&response, "x-sailkit-trace-id"), TRACE);
    assert_eq!(header(&response, "x-request-id"), "req-1");
    let elapsed = header(&response, "x-sailkit-elapsed-ms");
    assert!(elapsed.parse::<u64>().is_ok(), "{elapsed:?}");
    assert_eq!(header(&response, "content-type"), "text/plain");
    let body = response.text().await.expect("body");
    assert_eq!(
        body,
        "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
        "Envoy's words, unchanged"
    );
}

#[tokio::test]
async fn a_caller_that_asks_for_json_gets_the_facts_as_json() {
    let down = support::refused_addr();
    let mesh = productpage_sidecar(down, &[]).await;
    let response = mesh
        .client
        .get("http://ratings:9080/ratings/0")
        .header("accept", "application/json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "content-type"), "application/json");
    let trace_id = header(&response, "x-sailkit-trace-id").to_owned();
    let request_id = header(&response, "x-request-id").to_owned();
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["status"], 503);
    assert_eq!(body["flags"], "UF,URX");
    assert_eq!(body["failed"], "upstream");
    assert_eq!(body["caller"], "productpage-v1");
    assert_eq!(body["callee"], "ratings:9080");
    assert_eq!(body["instance"], down.to_string());
    assert!(body["elapsed_ms"].is_u64(), "{body}");
    assert_eq!(body["trace_id"], trace_id.as_str());
    assert_eq!(trace_id.len(), 32, "a new trace: {trace_id}");
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("connection failure")),
        "{body}"
    );
}

#[tokio::test]
async fn a_failure_before_any_instance_names_no_instance() {
    let up = support::upstream("v1").await;
    // Only jason's requests have a rule: anyone else's is 404 `NR`, before any instance.
    let only_jason = support::ratings_vs(
        "      match:\n        - headers:\n            end-user:\n              exact: jason",
    );
    let mesh = productpage_sidecar(up.addr, &[("ratings.yaml", only_jason)]).await;
    let response = mesh
        .client
        .get("http://ratings:9080/ratings/0")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "x-sailkit-flags"), "NR");
    assert_eq!(
        header(&response, "x-sailkit-failed-hop"),
        "productpage-v1 -> ratings:9080"
    );
    assert_eq!(up.hits(), 0);
}

#[tokio::test]
async fn the_inbound_side_names_the_caller_and_the_local_application() {
    let down = support::refused_addr();
    let proxy = InboundProxy::start_tuned(App::At(down), |settings| {
        settings.labels = vec![
            ("app".to_owned(), "ratings".to_owned()),
            ("version".to_owned(), "v1".to_owned()),
        ];
    })
    .await;
    let response = reqwest::Client::new()
        .get(format!("http://{}/ratings/0", proxy.inbound))
        .header("accept", "application/json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    let hop = header(&response, "x-sailkit-failed-hop").to_owned();
    assert!(
        hop.starts_with("127.0.0.1:") && hop.ends_with(&format!(" -> ratings-v1 ({down})")),
        "{hop}"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["callee"], "ratings-v1");
    assert_eq!(body["flags"], "UF");
}
