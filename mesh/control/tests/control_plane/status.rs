//! ACKs and NACKs, as `ProxyStatus`, `/proxies` and `/metrics` show them.

use std::time::Duration;

use crate::support::{PATIENCE, Plane, Proxy, REVIEWS_V1, ack, nack};

#[tokio::test]
async fn acks_and_nacks_show_in_proxy_status_proxies_and_metrics() {
    let plane = Plane::start(&[("reviews.yaml", REVIEWS_V1)], &[]).await;
    let (synced, snapshot) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    let (refusing, _) = Proxy::connect(plane.grpc, "reviews-v2", "127.0.0.1:9002").await;
    synced.send(ack(&snapshot.version));
    refusing.send(nack(
        &snapshot.version,
        "reviews.yaml:9:5: a route nobody can build",
    ));

    let deadline = tokio::time::Instant::now() + PATIENCE;
    let status = loop {
        let status = plane.proxy_status().await;
        let answered = status.proxies.len() == 2
            && !status.proxies[0].acked_version.is_empty()
            && !status.proxies[1].nacked_version.is_empty();
        if answered {
            break status;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.config_version, snapshot.config_version);
    let (v1, v2) = (&status.proxies[0], &status.proxies[1]);
    assert_eq!(v1.proxy_id, "reviews-v1");
    assert_eq!(v1.acked_version, snapshot.version);
    assert_eq!(v1.acked_config_version, snapshot.config_version);
    assert_eq!(v1.nacked_version, "");
    assert_eq!(v2.proxy_id, "reviews-v2");
    assert_eq!(v2.nacked_version, snapshot.version);
    assert_eq!(v2.nack_error, "reviews.yaml:9:5: a route nobody can build");
    assert_eq!(v2.acked_version, "");
    assert!(!v2.sent_version.is_empty());

    let proxies = plane.get_json("/proxies").await;
    assert_eq!(proxies["version"], status.version.as_str());
    assert_eq!(
        proxies["proxies"][0]["acked_version"],
        snapshot.version.as_str()
    );
    assert_eq!(
        proxies["proxies"][1]["nack_error"],
        "reviews.yaml:9:5: a route nobody can build"
    );

    let metrics = plane.metrics().await;
    assert!(
        metrics.contains("sailkit_control_nacks_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sailkit_control_connected_proxies 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sailkit_control_pushes_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sailkit_control_push_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sailkit_control_config_refused_files 0"),
        "{metrics}"
    );
}
