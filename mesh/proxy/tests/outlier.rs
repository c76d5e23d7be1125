//! Outlier detection (`outlierDetection`), over real sockets: a failing endpoint is ejected and
//! comes back; `maxEjectionPercent` keeps some endpoints in; nothing left is 503 `UH`.

mod support;

use std::time::Duration;

use support::{Mesh, ratings_dr, ratings_vs, stat, upstream, upstream_with};

const RATINGS: &str = "http://ratings:9080/ratings/0";

/// No retries (so every failure shows), and the DestinationRule's `outlierDetection`.
fn config(max_ejection_percent: u32, base_ejection_time: &str) -> Vec<(&'static str, String)> {
    let vs = ratings_vs("      retries:\n        attempts: 0");
    let dr = ratings_dr(&format!(
        "    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: {base_ejection_time}
      maxEjectionPercent: {max_ejection_percent}"
    ));
    vec![("vs.yaml", vs), ("dr.yaml", dr)]
}

#[tokio::test]
async fn a_failing_endpoint_is_ejected_then_comes_back() {
    let good = upstream("ratings-v1").await;
    let bad = upstream_with("broken", 503, Duration::ZERO).await;
    let mesh = Mesh::start(
        &[("ratings", vec![(bad.addr, "v1"), (good.addr, "v1")])],
        &config(100, "3s"),
    )
    .await;

    // Round robin reaches the bad endpoint within two requests; its one 503 ejects it.
    let mut failures = 0;
    for _ in 0..2 {
        if mesh.get(RATINGS, None).await.0 == 503 {
            failures += 1;
        }
    }
    assert_eq!((failures, bad.hits()), (1, 1));

    // While ejected, everything goes to the good endpoint.
    for _ in 0..10 {
        let (status, _, body) = mesh.get(RATINGS, None).await;
        assert_eq!((status, body.as_str()), (200, "ratings-v1"));
    }
    assert_eq!(bad.hits(), 1, "an ejected endpoint gets no traffic");
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "outlier_ejections_total"), 1);
    let dump = mesh.admin_get("/config_dump").await.1;
    assert!(dump.contains(&bad.addr.to_string()), "{dump}");
    assert!(dump.contains("\"ejected\""), "{dump}");

    // After baseEjectionTime it is tried again (poll: no upper bound on timing).
    for _ in 0..300 {
        if bad.hits() > 1 {
            break;
        }
        mesh.get(RATINGS, None).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(bad.hits() > 1, "the ejected endpoint came back");
}

#[tokio::test]
async fn max_ejection_percent_keeps_half_of_the_endpoints_in() {
    let a = upstream_with("broken-a", 503, Duration::ZERO).await;
    let b = upstream_with("broken-b", 503, Duration::ZERO).await;
    let mesh = Mesh::start(
        &[("ratings", vec![(a.addr, "v1"), (b.addr, "v1")])],
        &config(50, "60s"),
    )
    .await;
    for _ in 0..10 {
        let (status, flags, _) = mesh.get(RATINGS, None).await;
        assert_eq!(
            (status, flags.as_str()),
            (503, ""),
            "the upstreams' own 503"
        );
    }
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "outlier_ejections_total"), 1);
    assert_eq!(stat(&stats, "outlier_ejections_active"), 1);
    // The first failure ejected one; the other took every later request.
    let mut hits = [a.hits(), b.hits()];
    hits.sort_unstable();
    assert_eq!(hits, [1, 9]);
}

#[tokio::test]
async fn with_every_endpoint_ejected_the_answer_is_503_uh() {
    let a = upstream_with("broken-a", 503, Duration::ZERO).await;
    let b = upstream_with("broken-b", 503, Duration::ZERO).await;
    let mesh = Mesh::start(
        &[("ratings", vec![(a.addr, "v1"), (b.addr, "v1")])],
        &config(100, "60s"),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(mesh.get(RATINGS, None).await.0, 503);
    }
    assert_eq!((a.hits(), b.hits()), (1, 1));
    let (status, flags, body) = mesh.get(RATINGS, None).await;
    assert_eq!(
        (status, flags.as_str(), body.as_str()),
        (503, "UH", "no healthy upstream")
    );
    assert_eq!(a.hits() + b.hits(), 2, "no endpoint was asked");
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "outlier_ejections_active"), 2);
}

#[tokio::test]
async fn connection_failures_count_as_errors_of_their_endpoint() {
    let good = upstream("ratings-v1").await;
    let mesh = Mesh::start(
        &[(
            "ratings",
            vec![(support::refused_addr(), "v1"), (good.addr, "v1")],
        )],
        &config(100, "60s"),
    )
    .await;
    let mut flags_seen = Vec::new();
    for _ in 0..6 {
        let (status, flags, _) = mesh.get(RATINGS, None).await;
        if status != 200 {
            flags_seen.push(flags);
        }
    }
    assert_eq!(flags_seen, ["UF"], "one refused connection, then ejected");
    assert_eq!(good.hits(), 5);
}
