//! `match[].sourceLabels`: the rule a request takes depends on who sends it. Each proxy is told
//! its own workload's labels (`--label`), as the launcher tells every sidecar; two proxies over
//! the same registry and config route the same request differently.

mod support;

use std::collections::BTreeMap;

use support::{Entry, Mesh, scenario, upstream};

const RATINGS: &str = "http://ratings:9080/ratings/0";

/// Calls from reviews v2 go to ratings v2; everyone else's to ratings v1.
const FROM_REVIEWS_V2: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
    - match:
        - sourceLabels:
            app: reviews
            version: v2
      route:
        - destination: {host: ratings, subset: v2}
    - route:
        - destination: {host: ratings, subset: v1}
"#;

/// The bodies (upstream versions) of `n` calls through `mesh`.
async fn tally(mesh: &Mesh, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let (status, _, body) = mesh.get(RATINGS, None).await;
        assert_eq!(status, 200, "body: {body}");
        *seen.entry(body).or_insert(0) += 1;
    }
    seen
}

#[tokio::test]
async fn a_rule_with_source_labels_applies_only_to_the_workload_with_those_labels() {
    let (v1, v2) = (upstream("v1").await, upstream("v2").await);
    let registry: &[Entry<'_>] = &[("ratings", vec![(v1.addr, "v1"), (v2.addr, "v2")])];
    let files = [
        (
            "destination-rule-all.yaml",
            scenario("destination-rule-all.yaml"),
        ),
        ("from-reviews-v2.yaml", FROM_REVIEWS_V2.to_owned()),
    ];
    let reviews_v2 =
        Mesh::start_as(&[("app", "reviews"), ("version", "v2")], registry, &files).await;
    let reviews_v3 =
        Mesh::start_as(&[("app", "reviews"), ("version", "v3")], registry, &files).await;
    let unlabelled = Mesh::start(registry, &files).await;

    assert_eq!(
        tally(&reviews_v2, 6).await,
        BTreeMap::from([("v2".into(), 6)])
    );
    // Every label of the match must be there: `app=reviews` alone is not enough.
    assert_eq!(
        tally(&reviews_v3, 6).await,
        BTreeMap::from([("v1".into(), 6)])
    );
    assert_eq!(
        tally(&unlabelled, 6).await,
        BTreeMap::from([("v1".into(), 6)])
    );
    assert_eq!((v1.hits(), v2.hits()), (12, 6));
}

#[tokio::test]
async fn ratings_calls_from_reviews_v3_are_aborted_and_those_from_v2_are_not() {
    let v1 = upstream("v1").await;
    let registry: &[Entry<'_>] = &[("ratings", vec![(v1.addr, "v1")])];
    let name = "virtual-service-ratings-reviews-v3-abort.yaml";
    let files = [
        (
            "destination-rule-all.yaml",
            scenario("destination-rule-all.yaml"),
        ),
        (name, scenario(name)),
    ];
    let reviews_v3 =
        Mesh::start_as(&[("app", "reviews"), ("version", "v3")], registry, &files).await;
    let reviews_v2 =
        Mesh::start_as(&[("app", "reviews"), ("version", "v2")], registry, &files).await;

    for _ in 0..3 {
        let (status, flags, body) = reviews_v3.get(RATINGS, None).await;
        assert_eq!((status, flags.as_str()), (500, "FI"), "body: {body}");
    }
    assert_eq!(v1.hits(), 0, "an abort never reaches the upstream");
    assert_eq!(
        tally(&reviews_v2, 3).await,
        BTreeMap::from([("v1".into(), 3)])
    );
}
