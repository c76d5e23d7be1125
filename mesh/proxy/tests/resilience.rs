//! Faults, timeouts, retries and connection failures, over real sockets.

mod support;

use std::time::{Duration, Instant};

use support::{
    Mesh, ratings_dr, ratings_vs, refused_addr, scenario, silent_addr, upstream, upstream_with,
};

const RATINGS: &str = "http://ratings:9080/ratings/0";

#[tokio::test]
async fn test_abort_fails_jason_with_500_fi_and_never_calls_the_upstream() {
    let v1 = upstream("ratings-v1").await;
    let mesh = Mesh::start(
        &[("ratings", vec![(v1.addr, "v1")])],
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-ratings-test-abort.yaml",
                scenario("virtual-service-ratings-test-abort.yaml"),
            ),
        ],
    )
    .await;
    for _ in 0..3 {
        let (status, flags, body) = mesh.get(RATINGS, Some("jason")).await;
        assert_eq!(
            (status, flags.as_str(), body.as_str()),
            (500, "FI", "fault filter abort")
        );
    }
    assert_eq!(
        v1.hits(),
        0,
        "an aborted request must not reach the upstream"
    );
    let (status, _, body) = mesh.get(RATINGS, Some("alice")).await;
    assert_eq!((status, body.as_str()), (200, "ratings-v1"));
    assert_eq!(v1.hits(), 1);
}

#[tokio::test]
async fn a_delay_fault_holds_the_request_back() {
    let v1 = upstream("ratings-v1").await;
    let delay = ratings_vs(
        "      fault:\n        delay:\n          fixedDelay: 200ms\n          percentage:\n            value: 100",
    );
    let mesh = Mesh::start(
        &[("ratings", vec![(v1.addr, "v1")])],
        &[("ratings.yaml", delay)],
    )
    .await;
    let started = Instant::now();
    let (status, _, body) = mesh.get(RATINGS, None).await;
    // A lower bound only: an upper bound would flake on a busy machine.
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!((status, body.as_str()), (200, "ratings-v1"));
    let (_, stats) = mesh.admin_get("/stats").await;
    assert!(stats.contains("flag_DI 1\n"), "{stats}");
}

#[tokio::test]
async fn a_route_timeout_shorter_than_the_upstream_is_504_ut() {
    let slow = upstream_with("slow", 200, Duration::from_secs(5)).await;
    let mesh = Mesh::start(
        &[("ratings", vec![(slow.addr, "v1")])],
        &[("ratings.yaml", ratings_vs("      timeout: 300ms"))],
    )
    .await;
    let response = mesh.client.get(RATINGS).send().await.expect("request");
    assert_eq!(response.status(), 504);
    assert_eq!(response.headers()["x-sailkit-flags"], "UT");
    assert_eq!(response.headers()["x-sailkit-failed"], "upstream");
    assert_eq!(
        response.text().await.expect("body"),
        "upstream request timeout"
    );
}

#[tokio::test]
async fn the_retry_policy_hides_a_failing_endpoint() {
    let good = upstream("ratings-v1").await;
    let bad = upstream_with("broken", 503, Duration::ZERO).await;
    let mesh = Mesh::start(
        &[("ratings", vec![(bad.addr, "v1"), (good.addr, "v1")])],
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-ratings-retries.yaml",
                scenario("virtual-service-ratings-retries.yaml"),
            ),
        ],
    )
    .await;
    for _ in 0..10 {
        let (status, _, body) = mesh.get(RATINGS, None).await;
        assert_eq!((status, body.as_str()), (200, "ratings-v1"));
    }
    assert!(
        bad.hits() > 0,
        "round robin did send requests to the bad endpoint"
    );
    let (_, stats) = mesh.admin_get("/stats").await;
    assert!(!stats.contains("retries 0\n"), "{stats}");
}

#[tokio::test]
async fn without_retries_the_failing_endpoint_shows() {
    let good = upstream("ratings-v1").await;
    let bad = upstream_with("broken", 503, Duration::ZERO).await;
    let mesh = Mesh::start(
        &[("ratings", vec![(bad.addr, "v1"), (good.addr, "v1")])],
        &[(
            "ratings.yaml",
            ratings_vs("      retries:\n        attempts: 0"),
        )],
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(mesh.get(RATINGS, None).await.0);
    }
    statuses.sort_unstable();
    // Strict round robin over two endpoints: two of each.
    assert_eq!(statuses, [200, 200, 503, 503]);
}

#[tokio::test]
async fn a_refused_connection_is_503_uf() {
    let mesh = Mesh::start(
        &[("ratings", vec![(refused_addr(), "v1")])],
        &[(
            "ratings.yaml",
            ratings_vs("      retries:\n        attempts: 0"),
        )],
    )
    .await;
    let response = mesh.client.get(RATINGS).send().await.expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-sailkit-flags"], "UF");
    assert_eq!(response.headers()["x-sailkit-failed"], "upstream");
    assert!(
        response
            .text()
            .await
            .expect("body")
            .ends_with("reset reason: connection failure")
    );
}

#[tokio::test]
async fn connect_timeout_of_the_destination_rule_ends_a_hanging_connect() {
    let silent = silent_addr();
    let mesh = Mesh::start(
        &[("ratings", vec![(silent.addr, "v1")])],
        &[
            (
                "ratings.yaml",
                ratings_vs("      retries:\n        attempts: 0"),
            ),
            (
                "dr.yaml",
                ratings_dr("    connectionPool:\n      tcp:\n        connectTimeout: 300ms"),
            ),
        ],
    )
    .await;
    let started = Instant::now();
    let (status, flags, body) = mesh.get(RATINGS, None).await;
    let took = started.elapsed();
    assert_eq!((status, flags.as_str()), (503, "UF"), "{body}");
    // 300 ms, not the default 10 s (the margin is for a slow machine).
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    let (_, dump) = mesh.admin_get("/config_dump").await;
    assert!(dump.contains("\"connect_timeout_ms\": 300"), "{dump}");
}

#[tokio::test]
async fn exhausted_default_retries_add_urx() {
    // No VirtualService: Istio's default policy retries connect failures twice.
    let mesh = Mesh::start(&[("ratings", vec![(refused_addr(), "v1")])], &[]).await;
    let (status, flags, _) = mesh.get(RATINGS, None).await;
    assert_eq!((status, flags.as_str()), (503, "UF,URX"));
}

#[tokio::test]
async fn retrying_on_connect_failure_reaches_another_endpoint() {
    let good = upstream("ratings-v1").await;
    let mesh = Mesh::start(
        &[("ratings", vec![(refused_addr(), "v1"), (good.addr, "v1")])],
        &[(
            "ratings.yaml",
            ratings_vs("      retries:\n        attempts: 2\n        retryOn: connect-failure"),
        )],
    )
    .await;
    for _ in 0..6 {
        let (status, _, body) = mesh.get(RATINGS, None).await;
        assert_eq!((status, body.as_str()), (200, "ratings-v1"));
    }
    assert_eq!(good.hits(), 6);
}

/// An outage for everyone: every answer is a slow 503, and 20 requests are in flight at once.
/// Without a budget the default policy would make 60 attempts (each request 1 + 2 retries);
/// the default budget lets at most max(3, 20 % of 20) = 4 retries be in progress at once, so
/// most requests get their first 503 back without a retry.
#[tokio::test]
async fn the_default_retry_budget_keeps_retries_from_multiplying_an_outage() {
    let down = upstream_with("down", 503, Duration::from_millis(300)).await;
    let mesh = Mesh::start(&[("ratings", vec![(down.addr, "v1")])], &[]).await;
    let requests = (0..20).map(|_| mesh.get(RATINGS, None));
    let answers = futures::future::join_all(requests).await;
    assert!(answers.iter().all(|(status, _, _)| *status == 503));
    // 20 first attempts, then waves of at most 4 retries: 28 when the 20 overlap fully. 40
    // leaves room for a slow machine that spreads them out; without a budget it is 60.
    assert!(
        down.hits() <= 40,
        "{} attempts reached the upstream",
        down.hits()
    );
    let (_, stats) = mesh.admin_get("/stats").await;
    assert!(
        support::stat(&stats, "upstream_rq_retry_overflow") >= 1,
        "{stats}"
    );
}

/// A caller that hangs up while its request waits (here in a 2 s delay fault) still leaves a
/// trace: the request is counted with the flag `DC`, as Envoy logs a downstream disconnect.
#[tokio::test]
async fn a_caller_that_hangs_up_is_counted_with_dc() {
    let v1 = upstream("ratings-v1").await;
    let delay = ratings_vs(
        "      fault:\n        delay:\n          fixedDelay: 2s\n          percentage:\n            value: 100",
    );
    let mesh = Mesh::start(
        &[("ratings", vec![(v1.addr, "v1")])],
        &[("ratings.yaml", delay)],
    )
    .await;
    let gave_up = mesh
        .client
        .get(RATINGS)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(
        gave_up.is_err(),
        "the caller gives up before the delay ends"
    );
    let stats = mesh
        .wait_for("/stats", |_, stats| support::stat(stats, "flag_DC") == 1)
        .await;
    // The one line carries both: it was being delayed (DI) when the caller left (DC).
    assert_eq!(support::stat(&stats, "flag_DI"), 1, "{stats}");
    assert_eq!(v1.hits(), 0, "the delay never ended, nothing was sent");
}
