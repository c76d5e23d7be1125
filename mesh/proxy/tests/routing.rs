//! Routing over real sockets: upstreams that answer their version, the proxy in between.

mod support;

use std::collections::BTreeMap;

use support::{Mesh, echo_upstream, scenario, upstream};

const REVIEWS: &str = "http://reviews:9080/reviews/0";

/// Count the answers of `n` requests.
async fn tally(mesh: &Mesh, n: usize, user: Option<&str>) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let (status, _, body) = mesh.get(REVIEWS, user).await;
        assert_eq!(status, 200, "body: {body}");
        *seen.entry(body).or_insert(0) += 1;
    }
    seen
}

#[tokio::test]
async fn without_a_virtual_service_requests_round_robin_over_every_endpoint() {
    let (v1, v2, v3) = (
        upstream("v1").await,
        upstream("v2").await,
        upstream("v3").await,
    );
    let mesh = Mesh::start(
        &[(
            "reviews",
            vec![(v1.addr, "v1"), (v2.addr, "v2"), (v3.addr, "v3")],
        )],
        &[],
    )
    .await;
    let seen = tally(&mesh, 6, None).await;
    assert_eq!(
        seen,
        BTreeMap::from([("v1".into(), 2), ("v2".into(), 2), ("v3".into(), 2)])
    );
}

#[tokio::test]
async fn all_v1_sends_every_request_to_v1() {
    let (v1, v2, v3) = (
        upstream("v1").await,
        upstream("v2").await,
        upstream("v3").await,
    );
    let mesh = Mesh::start(
        &[(
            "reviews",
            vec![(v1.addr, "v1"), (v2.addr, "v2"), (v3.addr, "v3")],
        )],
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-all-v1.yaml",
                scenario("virtual-service-all-v1.yaml"),
            ),
        ],
    )
    .await;
    assert_eq!(
        tally(&mesh, 12, None).await,
        BTreeMap::from([("v1".into(), 12)])
    );
    assert_eq!((v2.hits(), v3.hits()), (0, 0));
}

#[tokio::test]
async fn test_v2_sends_jason_to_v2_and_everyone_else_to_v1() {
    let (v1, v2, v3) = (
        upstream("v1").await,
        upstream("v2").await,
        upstream("v3").await,
    );
    let mesh = Mesh::start(
        &[(
            "reviews",
            vec![(v1.addr, "v1"), (v2.addr, "v2"), (v3.addr, "v3")],
        )],
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-reviews-test-v2.yaml",
                scenario("virtual-service-reviews-test-v2.yaml"),
            ),
        ],
    )
    .await;
    assert_eq!(
        tally(&mesh, 5, Some("jason")).await,
        BTreeMap::from([("v2".into(), 5)])
    );
    assert_eq!(
        tally(&mesh, 5, Some("alice")).await,
        BTreeMap::from([("v1".into(), 5)])
    );
    assert_eq!(
        tally(&mesh, 5, None).await,
        BTreeMap::from([("v1".into(), 5)])
    );
}

#[tokio::test]
async fn fifty_fifty_splits_between_v1_and_v3() {
    let (v1, v2, v3) = (
        upstream("v1").await,
        upstream("v2").await,
        upstream("v3").await,
    );
    let mesh = Mesh::start(
        &[(
            "reviews",
            vec![(v1.addr, "v1"), (v2.addr, "v2"), (v3.addr, "v3")],
        )],
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-reviews-50-v3.yaml",
                scenario("virtual-service-reviews-50-v3.yaml"),
            ),
        ],
    )
    .await;
    let seen = tally(&mesh, 200, None).await;
    // 30-70 % is more than five standard deviations from 50 % over 200 fair rolls: it does
    // not flake, yet a router that ignored the weights (all v1, or thirds) would fail it.
    for version in ["v1", "v3"] {
        let n = seen.get(version).copied().unwrap_or(0);
        assert!((60..=140).contains(&n), "{version}: {n} of 200 ({seen:?})");
    }
    assert_eq!(v2.hits(), 0);
}

#[tokio::test]
async fn a_virtual_service_without_a_matching_rule_answers_404_nr() {
    let v1 = upstream("v1").await;
    let only_jason = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - match:
        - headers:
            end-user:
              exact: jason
      route:
        - destination:
            host: reviews
"#;
    let mesh = Mesh::start(
        &[("reviews", vec![(v1.addr, "v1")])],
        &[("reviews.yaml", only_jason.to_owned())],
    )
    .await;
    let (status, flags, _) = mesh.get(REVIEWS, None).await;
    assert_eq!((status, flags.as_str()), (404, "NR"));
    assert_eq!(v1.hits(), 0);
    let (status, _, body) = mesh.get(REVIEWS, Some("jason")).await;
    assert_eq!((status, body.as_str()), (200, "v1"));
}

#[tokio::test]
async fn origin_form_requests_route_on_the_host_header() {
    let v1 = upstream("v1").await;
    let mesh = Mesh::start(&[("reviews", vec![(v1.addr, "v1")])], &[]).await;
    let response = mesh
        .direct
        .get(format!("http://{}/reviews/0", mesh.outbound))
        .header("host", "reviews:9080")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "v1");
}

#[tokio::test]
async fn an_unknown_host_is_503_nc_and_says_the_proxy_failed() {
    let v1 = upstream("v1").await;
    let mesh = Mesh::start(&[("reviews", vec![(v1.addr, "v1")])], &[]).await;
    let response = mesh
        .client
        .get("http://nowhere:9080/")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-sailkit-flags"], "NC");
    assert_eq!(response.headers()["x-sailkit-failed"], "proxy");
}

#[tokio::test]
async fn the_upstream_sees_origin_form_the_callers_host_and_the_rules_headers() {
    let echo = echo_upstream().await;
    let set_header = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - headers:
        request:
          set:
            x-route: tagged
      route:
        - destination:
            host: reviews
"#;
    let mesh = Mesh::start(
        &[("reviews", vec![(echo.addr, "v1")])],
        &[("reviews.yaml", set_header.to_owned())],
    )
    .await;
    let response = mesh
        .client
        .get("http://reviews:9080/reviews/0?x=1")
        .header("proxy-connection", "keep-alive")
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.text().await.expect("body"),
        "GET /reviews/0?x=1 host=reviews:9080 x-route=tagged proxy-connection=-"
    );
}
