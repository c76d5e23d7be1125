//! The failed hops a sidecar names reach the user in productpage's headers, over real sockets
//! against fake peers: a peer's failure answer, a reviews answer that passes on the failure of
//! its own call to ratings, and a healthy stack that adds nothing. The page stays Bookinfo's.

mod support;

use serde_json::{Value, json};
use support::{Fake, Peers, client, productpage_for, reviews};

/// What details' sidecar answers when details is down (see the proxy's `failure`).
const DETAILS_DOWN: &[(&str, &str)] = &[
    ("x-sailkit-failed", "upstream"),
    ("x-sailkit-flags", "UF,URX"),
    (
        "x-sailkit-failed-hop",
        "productpage-v1 -> details:9080 (127.0.0.1:9101)",
    ),
    ("x-sailkit-elapsed-ms", "81"),
    ("x-sailkit-trace-id", TRACE_ID),
];

/// What reviews answers when its call to ratings was aborted by a fault: its page, and the
/// failed hop passed on.
const RATINGS_ABORTED: &[(&str, &str)] = &[
    ("x-sailkit-failed-hop", "reviews-v2 -> ratings:9080"),
    ("x-sailkit-flags", "FI"),
    ("x-sailkit-elapsed-ms", "0"),
    ("x-sailkit-trace-id", TRACE_ID),
];

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// `GET path`: status, the values of `x-sailkit-failed-hop` (sorted, the peers are called at
/// once), of `x-sailkit-trace-id`, and the body.
async fn get(server: &testkit::TestServer, path: &str) -> (u16, Vec<String>, Vec<String>, String) {
    let response = client()
        .get(server.url(path))
        .send()
        .await
        .expect("productpage answers");
    let values = |name: &str| -> Vec<String> {
        let mut values: Vec<String> = response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .collect();
        values.sort();
        values
    };
    let hops = values("x-sailkit-failed-hop");
    let trace_ids = values("x-sailkit-trace-id");
    let status = response.status().as_u16();
    let body = response.text().await.expect("a text body");
    (status, hops, trace_ids, body)
}

fn unavailable_ratings() -> Value {
    let unavailable = json!({"error": "Ratings service is currently unavailable"});
    let mut body = reviews(Some("black"), None);
    for review in body["reviews"].as_array_mut().expect("reviews") {
        review["rating"] = unavailable.clone();
    }
    body
}

#[tokio::test]
async fn a_healthy_stack_adds_no_failed_hop() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    for path in ["/productpage", "/api/v1/products/0/reviews"] {
        let (status, hops, trace_ids, _) = get(&server, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(hops.is_empty(), "{path}: {hops:?}");
        assert!(trace_ids.is_empty(), "{path}: {trace_ids:?}");
    }
}

#[tokio::test]
async fn a_peer_failure_answer_is_named_on_the_page_and_the_text_stays_bookinfos() {
    let mut peers = Peers::bookinfo().await;
    peers.details = Fake::with_headers(503, DETAILS_DOWN, json!("no healthy upstream")).await;
    let server = productpage_for(&peers).await;
    // The same failure without the headers: the page a user reads must not change.
    let mut plain = Peers::bookinfo().await;
    plain.details = Fake::json(503, json!("no healthy upstream")).await;
    let plain_server = productpage_for(&plain).await;

    let (status, hops, trace_ids, html) = get(&server, "/productpage").await;
    let (_, plain_hops, _, plain_html) = get(&plain_server, "/productpage").await;

    assert_eq!(status, 200, "the page always renders");
    assert_eq!(hops, ["productpage-v1 -> details:9080 (127.0.0.1:9101)"]);
    assert_eq!(trace_ids, [TRACE_ID]);
    assert!(html.contains("Error fetching product details"));
    assert_eq!(html, plain_html, "the visible text stays Bookinfo's");
    assert!(plain_hops.is_empty(), "no header names no hop");
}

#[tokio::test]
async fn two_failures_are_two_values_and_a_passed_on_failure_is_kept() {
    let mut peers = Peers::bookinfo().await;
    peers.details = Fake::with_headers(503, DETAILS_DOWN, json!("no healthy upstream")).await;
    peers.reviews = Fake::with_headers(200, RATINGS_ABORTED, unavailable_ratings()).await;
    let server = productpage_for(&peers).await;

    let (status, hops, trace_ids, html) = get(&server, "/productpage").await;

    assert_eq!(status, 200);
    assert_eq!(
        hops,
        [
            "productpage-v1 -> details:9080 (127.0.0.1:9101)",
            "reviews-v2 -> ratings:9080",
        ]
    );
    assert_eq!(trace_ids, [TRACE_ID], "one trace, named once");
    assert!(html.contains("Ratings service is currently unavailable"));

    // The JSON API passes the failure on in headers too, its body left as reviews' own.
    let (status, hops, _, body) = get(&server, "/api/v1/products/0/reviews").await;
    assert_eq!(status, 200);
    assert_eq!(hops, ["reviews-v2 -> ratings:9080"]);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body, unavailable_ratings());
}
