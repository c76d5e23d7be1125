//! The JSON API, health, metrics and static files over real sockets: shapes, texts and statuses
//! as the Bookinfo spec gives them.

mod support;

use serde_json::{Value, json};
use support::{Fake, Peers, client, get, productpage_for};
use testkit::TestServer;

/// `GET path`: status, content type and JSON body.
async fn get_json(server: &TestServer, path: &str) -> (u16, String, Value) {
    let response = client()
        .get(server.url(path))
        .send()
        .await
        .expect("productpage answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ASCII").to_string())
        .unwrap_or_default();
    let body = response.json().await.expect("a JSON body");
    (status, content_type, body)
}

fn error(text: &str) -> Value {
    json!({ "error": text })
}

#[tokio::test]
async fn the_product_list_is_bookinfos() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    let (status, content_type, body) = get_json(&server, "/api/v1/products").await;

    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    assert_eq!(
        body,
        json!([{
            "id": 0,
            "title": "The Comedy of Errors",
            "descriptionHtml": "<a href=\"https://en.wikipedia.org/wiki/The_Comedy_of_Errors\">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play."
        }])
    );
}

#[tokio::test]
async fn peer_bodies_are_relayed_verbatim() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    let (status, content_type, body) = get_json(&server, "/api/v1/products/0").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(body, support::details_v1());

    let (status, _, body) = get_json(&server, "/api/v1/products/0/reviews").await;
    assert_eq!(status, 200);
    assert_eq!(body, support::reviews(Some("black"), None));

    let (status, _, body) = get_json(&server, "/api/v1/products/0/ratings").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})
    );

    assert_eq!(peers.details.seen()[0].uri, "/details/0");
    assert_eq!(peers.reviews.seen()[0].uri, "/reviews/0");
    assert_eq!(peers.ratings.seen()[0].uri, "/ratings/0");
}

#[tokio::test]
async fn the_id_is_passed_to_the_peer() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    let (status, _, _) = get_json(&server, "/api/v1/products/42").await;

    assert_eq!(status, 200);
    assert_eq!(peers.details.seen()[0].uri, "/details/42");
}

#[tokio::test]
async fn a_failing_peer_gives_bookinfos_text_with_its_status() {
    let mut peers = Peers::bookinfo().await;
    peers.details = Fake::json(555, json!({"error": "fault injected"})).await;
    peers.reviews = Fake::json(503, json!({"error": "Service unavailable"})).await;
    peers.ratings = Fake::json(504, json!({"error": "upstream request timeout"})).await;
    let server = productpage_for(&peers).await;

    assert_eq!(
        get_json(&server, "/api/v1/products/0").await,
        (
            555,
            "application/json".into(),
            error("Sorry, product details are currently unavailable for this book.")
        )
    );
    let (status, _, body) = get_json(&server, "/api/v1/products/0/reviews").await;
    assert_eq!(
        (status, body),
        (
            503,
            error("Sorry, product reviews are currently unavailable for this book.")
        )
    );
    assert_eq!(peers.reviews.calls(), 2, "the API tries reviews twice too");
    let (status, _, body) = get_json(&server, "/api/v1/products/0/ratings").await;
    assert_eq!(
        (status, body),
        (
            504,
            error("Sorry, product ratings are currently unavailable for this book.")
        )
    );
}

#[tokio::test]
async fn a_peer_that_does_not_answer_is_a_500() {
    let peers = Peers {
        details: Fake::down().await,
        reviews: Fake::down().await,
        ratings: Fake::down().await,
        banner: Fake::down().await,
    };
    let server = productpage_for(&peers).await;

    for (path, text) in [
        (
            "/api/v1/products/0",
            "Sorry, product details are currently unavailable for this book.",
        ),
        (
            "/api/v1/products/0/reviews",
            "Sorry, product reviews are currently unavailable for this book.",
        ),
        (
            "/api/v1/products/0/ratings",
            "Sorry, product ratings are currently unavailable for this book.",
        ),
    ] {
        let (status, _, body) = get_json(&server, path).await;
        assert_eq!((status, body), (500, error(text)), "{path}");
    }
}

#[tokio::test]
async fn a_non_integer_id_is_a_400() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    for path in [
        "/api/v1/products/abc",
        "/api/v1/products/1.5/reviews",
        "/api/v1/products/%20/ratings",
    ] {
        let (status, _, body) = get_json(&server, path).await;
        assert_eq!((status, body), (400, error("Invalid product id")), "{path}");
    }
    assert_eq!(peers.details.calls(), 0, "no peer is asked about a bad id");
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    let (status, content_type, body) = get_json(&server, "/no/such/page").await;

    assert_eq!(status, 404);
    assert_eq!(content_type, "application/json");
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn health_is_bookinfos_text() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    assert_eq!(
        get(&server.url("/health"), &[]).await,
        (200, "Product page is healthy".to_string())
    );
}

#[tokio::test]
async fn metrics_count_each_peer_result() {
    let mut peers = Peers::bookinfo().await;
    peers.reviews = Fake::json(503, json!({"error": "Service unavailable"})).await;
    peers.banner = Fake::down().await;
    let server = productpage_for(&peers).await;
    let (status, _) = get(&server.url("/productpage"), &[]).await;
    assert_eq!(status, 200);

    let response = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("productpage answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(content_type.starts_with("application/openmetrics-text"));
    let text = response.text().await.expect("text");

    assert!(text.contains("# TYPE request_result counter"), "{text}");
    for line in [
        r#"request_result_total{destination_app="details",response_code="200"} 1"#,
        r#"request_result_total{destination_app="reviews",response_code="503"} 2"#,
        r#"request_result_total{destination_app="banner",response_code="0"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing in:\n{text}");
    }
}

#[tokio::test]
async fn the_stylesheet_and_logo_are_served_with_caching() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    for (path, kind) in [
        ("/static/css/bookinfo.css", "text/css"),
        ("/static/img/logo.svg", "image/svg+xml"),
    ] {
        let response = client()
            .get(server.url(path))
            .send()
            .await
            .expect("productpage answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(header("content-type").starts_with(kind), "{path}");
        assert!(header("cache-control").contains("max-age"), "{path}");
        assert!(!response.text().await.expect("body").is_empty());
    }
}
