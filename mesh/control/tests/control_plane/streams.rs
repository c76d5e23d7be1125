//! Registration and push: what a proxy's stream receives as workloads come and go.

use std::time::Duration;

use tonic::Code;

use crate::support::{Plane, Proxy, REVIEWS_V1, ack, endpoint_ids, open, register};

#[tokio::test]
async fn the_first_snapshot_holds_the_folders_config_and_the_proxys_own_endpoint() {
    let plane = Plane::start(&[("reviews.yaml", REVIEWS_V1)], &[]).await;
    let (_proxy, first) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;

    assert_eq!(first.config.len(), 1);
    assert_eq!(first.config[0].name, "reviews.yaml");
    assert_eq!(first.config[0].yaml, REVIEWS_V1);
    assert_eq!(
        first.config_version,
        mesh_config::config_version([("reviews.yaml", REVIEWS_V1.as_bytes())])
    );
    assert_eq!(first.version.len(), 16);
    assert_eq!(first.services.len(), 1);
    let endpoint = &first.services[0].endpoints[0];
    assert_eq!(endpoint.address, "127.0.0.1:9001");
    assert_eq!(endpoint.proxy_id, "reviews-v1");
    assert_eq!(
        endpoint.labels.get("version").map(String::as_str),
        Some("reviews-v1")
    );
}

#[tokio::test]
async fn a_new_instance_reaches_the_others_within_a_second_and_leaves_when_its_stream_ends() {
    let plane = Plane::start(&[], &[]).await;
    let (mut first, snapshot) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    assert_eq!(endpoint_ids(&snapshot, "reviews"), ["reviews-v1"]);

    let (second, _) = Proxy::connect(plane.grpc, "reviews-v2", "127.0.0.1:9002").await;
    let both = first
        .next_within(Duration::from_secs(1))
        .await
        .expect("the new endpoint within a second");
    assert_eq!(endpoint_ids(&both, "reviews"), ["reviews-v1", "reviews-v2"]);

    drop(second);
    let after = first
        .next_within(Duration::from_secs(1))
        .await
        .expect("the endpoint removed within a second");
    assert_eq!(endpoint_ids(&after, "reviews"), ["reviews-v1"]);
    assert_eq!(
        after.version, snapshot.version,
        "the same content, the same version"
    );
}

#[tokio::test]
async fn a_register_sent_again_updates_the_endpoint() {
    let plane = Plane::start(&[], &[]).await;
    // Known, but not listening yet: no endpoint.
    let (mut proxy, first) = Proxy::connect(plane.grpc, "reviews-v1", "").await;
    assert!(first.services.is_empty());
    proxy.send(ack(&first.version));
    proxy.send(register("reviews-v1", "reviews", "127.0.0.1:9001", "v1"));
    let listening = proxy.next().await;
    assert_eq!(endpoint_ids(&listening, "reviews"), ["reviews-v1"]);
}

#[tokio::test]
async fn a_stream_must_start_with_a_valid_register() {
    let plane = Plane::start(&[], &[]).await;
    let refused = open(plane.grpc, ack("0123456789abcdef"))
        .await
        .err()
        .expect("an ACK first is refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("Register"), "{refused:?}");

    let refused = open(
        plane.grpc,
        register("reviews-v1", "reviews", "reviews:9080", "v1"),
    )
    .await
    .err()
    .expect("a bad address is refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().starts_with("register.address"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn past_max_proxies_a_stream_is_refused_and_a_reconnect_replaces_its_old_stream() {
    let plane = Plane::start(&[], &["--max-proxies", "2"]).await;
    let (_one, _) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    let (_two, _) = Proxy::connect(plane.grpc, "reviews-v2", "127.0.0.1:9002").await;
    let refused = open(
        plane.grpc,
        register("reviews-v3", "reviews", "127.0.0.1:9003", "v3"),
    )
    .await
    .err()
    .expect("a third proxy is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");

    // The same id again is a reconnect, not a third proxy.
    let (_again, snapshot) = Proxy::connect(plane.grpc, "reviews-v2", "127.0.0.1:9012").await;
    let addresses: Vec<&str> = snapshot.services[0]
        .endpoints
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    assert_eq!(addresses, ["127.0.0.1:9001", "127.0.0.1:9012"]);
}

#[tokio::test]
async fn stopping_ends_every_stream_with_unavailable_and_returns() {
    let plane = Plane::start(&[], &[]).await;
    let (mut proxy, _) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    plane.stop().await.expect("a clean stop");
    let ended = proxy
        .snapshots
        .message()
        .await
        .expect_err("the stream ends with an error");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
}
