//! `loadBalancer.consistentHash` over real sockets: the same key reaches the same endpoint.

mod support;

use std::collections::BTreeSet;

use support::{Mesh, Upstream, upstream};

const URL: &str = "http://reviews:9080/reviews/0";

fn rule(key: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        {key}
"
    )
}

async fn three() -> (Upstream, Upstream, Upstream) {
    (
        upstream("v1").await,
        upstream("v2").await,
        upstream("v3").await,
    )
}

async fn mesh(u: &(Upstream, Upstream, Upstream), key: &str) -> Mesh {
    Mesh::start(
        &[(
            "reviews",
            vec![(u.0.addr, "v1"), (u.1.addr, "v2"), (u.2.addr, "v3")],
        )],
        &[("dr.yaml", rule(key))],
    )
    .await
}

/// The answers to `n` requests carrying `header`.
async fn answers(mesh: &Mesh, header: (&str, &str), n: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..n {
        let response = mesh
            .client
            .get(URL)
            .header(header.0, header.1)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        seen.insert(response.text().await.expect("body"));
    }
    seen
}

#[tokio::test]
async fn the_same_header_value_always_reaches_the_same_endpoint() {
    let u = three().await;
    let mesh = mesh(&u, "httpHeaderName: x-user").await;
    let mut chosen = BTreeSet::new();
    for user in 0..20 {
        let seen = answers(&mesh, ("x-user", &format!("user-{user}")), 4).await;
        assert_eq!(seen.len(), 1, "user-{user} went to {seen:?}");
        chosen.extend(seen);
    }
    assert!(chosen.len() >= 2, "20 keys all on {chosen:?}: no spread");
    // Without the header: round robin.
    let (a, b, c) = (
        mesh.get(URL, None).await.2,
        mesh.get(URL, None).await.2,
        mesh.get(URL, None).await.2,
    );
    assert_eq!(BTreeSet::from([a, b, c]).len(), 3);
}

#[tokio::test]
async fn the_same_cookie_reaches_the_same_endpoint() {
    let u = three().await;
    let mesh = mesh(&u, "httpCookie: {name: session, ttl: 0s}").await;
    for session in ["a", "b", "c", "d"] {
        let cookie = format!("theme=dark; session={session}");
        let seen = answers(&mesh, ("cookie", &cookie), 4).await;
        assert_eq!(seen.len(), 1, "session {session} went to {seen:?}");
    }
}

#[tokio::test]
async fn use_source_ip_keeps_one_client_on_one_endpoint() {
    let u = three().await;
    let mesh = mesh(&u, "useSourceIp: true").await;
    let seen = answers(&mesh, ("x-any", "1"), 6).await;
    assert_eq!(seen.len(), 1, "one client address, one endpoint: {seen:?}");
}
