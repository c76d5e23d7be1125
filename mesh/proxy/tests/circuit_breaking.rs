//! Circuit breaking (`connectionPool`), over real sockets: Istio's circuit-breaking task in small.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::{Mesh, flags, peer_upstream, stat, upstream_with};

const HTTPBIN: &str = "http://httpbin:8000/get";

fn destination_rule(connection_pool: &str) -> String {
    format!(
        r#"
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
{connection_pool}
"#
    )
}

const ONE_CONNECTION_ONE_WAITING: &str =
    "      tcp:\n        maxConnections: 1\n      http:\n        http1MaxPendingRequests: 1";

/// Send `n` requests at once through the proxy: (status, flags) of each.
async fn concurrent(mesh: &Mesh, n: usize) -> Vec<(u16, String)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = mesh.client.clone();
        tasks.spawn(async move {
            let response = client.get(HTTPBIN).send().await.expect("request");
            (response.status().as_u16(), flags(response.headers()))
        });
    }
    tasks
        .join_all()
        .await
        .into_iter()
        .collect::<Vec<(u16, String)>>()
}

#[tokio::test]
async fn over_the_connection_and_pending_limits_requests_get_503_uo() {
    let slow = upstream_with("httpbin", 200, Duration::from_millis(300)).await;
    let mesh = Mesh::start(
        &[("httpbin", vec![(slow.addr, "v1")])],
        &[("httpbin.yaml", destination_rule(ONE_CONNECTION_ONE_WAITING))],
    )
    .await;

    let results = concurrent(&mesh, 10).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let overflow = results
        .iter()
        .filter(|(s, f)| *s == 503 && f == "UO")
        .count();
    assert_eq!(ok + overflow, 10, "only 200 or 503 UO: {results:?}");
    assert!(ok >= 1, "the first request has its connection: {results:?}");
    assert!(overflow >= 1, "10 at once cannot fit 1 + 1: {results:?}");
    assert_eq!(
        slow.hits(),
        ok,
        "an overflowing request never reaches the upstream"
    );
    assert_eq!(
        slow.peak(),
        1,
        "maxConnections 1: one request at a time upstream"
    );

    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(
        stat(&stats, "upstream_rq_pending_overflow"),
        overflow as u64
    );
    assert_eq!(stat(&stats, "flag_UO"), overflow as u64);

    // One at a time, the same limits never overflow.
    for _ in 0..5 {
        let (status, flags, body) = mesh.get(HTTPBIN, None).await;
        assert_eq!(
            (status, flags.as_str(), body.as_str()),
            (200, "", "httpbin")
        );
    }
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(
        stat(&stats, "upstream_rq_pending_overflow"),
        overflow as u64
    );
}

#[tokio::test]
async fn the_overflow_response_says_who_refused_and_why() {
    let slow = upstream_with("httpbin", 200, Duration::from_millis(300)).await;
    let no_waiting =
        "      tcp:\n        maxConnections: 1\n      http:\n        http1MaxPendingRequests: 0";
    let mesh = Mesh::start(
        &[("httpbin", vec![(slow.addr, "v1")])],
        &[("httpbin.yaml", destination_rule(no_waiting))],
    )
    .await;
    let first = tokio::spawn({
        let client = mesh.client.clone();
        async move { client.get(HTTPBIN).send().await.map(|r| r.status()) }
    });
    // Wait until the first request occupies the only connection.
    while slow.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let response = mesh.client.get(HTTPBIN).send().await.expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-sailkit-flags"], "UO");
    assert_eq!(response.headers()["x-sailkit-failed"], "proxy");
    assert!(
        response
            .text()
            .await
            .expect("body")
            .ends_with("reset reason: overflow")
    );
    assert_eq!(first.await.expect("task").expect("first request"), 200);
}

#[tokio::test]
async fn max_retries_zero_stops_every_retry() {
    let retries = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts: [httpbin]
  http:
    - route:
        - destination:
            host: httpbin
      retries:
        attempts: 3
        retryOn: 5xx
"#;
    // Control: one retry allowed at a time is plenty for requests sent one by one, so each
    // request is tried 1 + 3 times.
    let broken = upstream_with("broken", 503, Duration::ZERO).await;
    let mesh = Mesh::start(
        &[("httpbin", vec![(broken.addr, "v1")])],
        &[
            ("vs.yaml", retries.to_owned()),
            (
                "dr.yaml",
                destination_rule("      http:\n        maxRetries: 1"),
            ),
        ],
    )
    .await;
    for _ in 0..3 {
        assert_eq!(mesh.get(HTTPBIN, None).await.0, 503);
    }
    assert_eq!(broken.hits(), 3 * 4);

    // maxRetries 0: the retry budget is empty, every request is tried once.
    let broken = upstream_with("broken", 503, Duration::ZERO).await;
    let mesh = Mesh::start(
        &[("httpbin", vec![(broken.addr, "v1")])],
        &[
            ("vs.yaml", retries.to_owned()),
            (
                "dr.yaml",
                destination_rule("      http:\n        maxRetries: 0"),
            ),
        ],
    )
    .await;
    for _ in 0..3 {
        let (status, flags, _) = mesh.get(HTTPBIN, None).await;
        // The upstream's own 503 comes back: no proxy flag, no URX (no retry was made).
        assert_eq!((status, flags.as_str()), (503, ""));
    }
    assert_eq!(broken.hits(), 3, "one attempt per request");
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "upstream_rq_retry_overflow"), 3);
    assert_eq!(stat(&stats, "retries"), 0);
}

#[tokio::test]
async fn max_requests_per_connection_one_opens_a_connection_per_request() {
    let upstream = peer_upstream().await;
    let mesh = Mesh::start(
        &[("httpbin", vec![(upstream.addr, "v1")])],
        &[(
            "dr.yaml",
            destination_rule("      http:\n        maxRequestsPerConnection: 1"),
        )],
    )
    .await;
    let mut peers = BTreeSet::new();
    for _ in 0..3 {
        let (status, _, peer) = mesh.get(HTTPBIN, None).await;
        assert_eq!(status, 200);
        peers.insert(peer);
    }
    assert_eq!(
        peers.len(),
        3,
        "every request on a new connection: {peers:?}"
    );

    // Without the limit, sequential requests share one kept-alive connection.
    let upstream = peer_upstream().await;
    let mesh = Mesh::start(&[("httpbin", vec![(upstream.addr, "v1")])], &[]).await;
    let mut peers = BTreeSet::new();
    for _ in 0..3 {
        peers.insert(mesh.get(HTTPBIN, None).await.2);
    }
    assert_eq!(
        peers.len(),
        1,
        "keep-alive reuses the connection: {peers:?}"
    );
}

/// How many times each upstream peer address (one per proxy connection) was seen.
fn per_peer(peers: &[String]) -> BTreeMap<&str, usize> {
    let mut seen = BTreeMap::new();
    for peer in peers {
        *seen.entry(peer.as_str()).or_default() += 1;
    }
    seen
}

#[tokio::test]
async fn max_requests_per_connection_counts_each_connection() {
    let upstream = peer_upstream().await;
    let mesh = Mesh::start(
        &[("httpbin", vec![(upstream.addr, "v1")])],
        &[(
            "dr.yaml",
            destination_rule("      http:\n        maxRequestsPerConnection: 2"),
        )],
    )
    .await;

    // One at a time: every connection carries exactly two requests, then a new one is opened.
    let mut sequential = Vec::new();
    for i in 0..6 {
        let (status, flags, peer) = mesh.get(HTTPBIN, None).await;
        assert_eq!((status, flags.as_str()), (200, ""), "request {i}");
        sequential.push(peer);
    }
    let seen = per_peer(&sequential);
    assert_eq!(
        seen.len(),
        3,
        "6 requests, 2 per connection: {sequential:?}"
    );
    assert!(
        seen.values().all(|&n| n == 2),
        "each connection carries exactly 2 requests: {sequential:?}"
    );

    // Several at once: the pool holds several connections, and still none carries more than 2.
    let mut concurrent = Vec::new();
    for round in 0..4 {
        let results = futures::future::join_all((0..3).map(|_| mesh.get(HTTPBIN, None))).await;
        for (status, flags, peer) in results {
            assert_eq!((status, flags.as_str()), (200, ""), "round {round}");
            concurrent.push(peer);
        }
    }
    assert_eq!(concurrent.len(), 12);
    let seen = per_peer(&concurrent);
    assert!(
        seen.values().all(|&n| n <= 2),
        "no connection carries more than 2 requests: {seen:?}"
    );
    assert_eq!(upstream.hits(), 6 + 12);
}

#[tokio::test]
async fn http2_max_requests_caps_requests_in_flight_without_waiting() {
    let slow = upstream_with("httpbin", 200, Duration::from_millis(300)).await;
    let mesh = Mesh::start(
        &[("httpbin", vec![(slow.addr, "v1")])],
        &[(
            "dr.yaml",
            destination_rule("      http:\n        http2MaxRequests: 2"),
        )],
    )
    .await;
    let results = concurrent(&mesh, 8).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let overflow = results.iter().filter(|(_, f)| f == "UO").count();
    assert_eq!(ok + overflow, 8, "{results:?}");
    assert!(overflow >= 1, "{results:?}");
    assert!(slow.peak() <= 2, "never more than 2 in flight");
}

#[tokio::test]
async fn a_destination_rule_change_at_run_time_applies_the_new_limits() {
    let slow = upstream_with("httpbin", 200, Duration::from_millis(300)).await;
    let tight =
        "      tcp:\n        maxConnections: 1\n      http:\n        http1MaxPendingRequests: 0";
    let mesh = Mesh::start(
        &[("httpbin", vec![(slow.addr, "v1")])],
        &[("httpbin.yaml", destination_rule(tight))],
    )
    .await;
    let before = concurrent(&mesh, 6).await;
    assert!(
        before.iter().any(|(_, f)| f == "UO"),
        "one connection, no waiting: {before:?}"
    );

    let roomy =
        "      tcp:\n        maxConnections: 50\n      http:\n        http1MaxPendingRequests: 0";
    mesh.write_config("httpbin.yaml", &destination_rule(roomy));
    // The file is longer now, so the watcher sees the change even within the same mtime tick.
    mesh.wait_for("/stats", |_, stats| stat(stats, "config_reloads") >= 1)
        .await;
    let after = concurrent(&mesh, 6).await;
    assert!(
        after.iter().all(|(s, _)| *s == 200),
        "50 connections fit 6 requests: {after:?}"
    );
    let dump = mesh.admin_get("/config_dump").await.1;
    assert!(dump.contains("\"max_connections\": 50"), "{dump}");
}
