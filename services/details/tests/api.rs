//! details over a real socket: the routes, bodies and statuses Bookinfo's details has.

use details::{Config, Details};
use serde_json::{Value, json};
use testkit::TestServer;

async fn start() -> TestServer {
    testkit::run_service(|listener, shutdown| {
        <Details as common::Service>::run(listener, Config::default(), shutdown)
    })
    .await
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let resp = reqwest::get(server.url(path))
        .await
        .expect("details answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("details answers JSON"))
}

#[tokio::test]
async fn health_reports_healthy() {
    let server = start().await;
    assert_eq!(
        get(&server, "/health").await,
        (200, json!({"status": "Details is healthy"}))
    );
}

#[tokio::test]
async fn details_returns_the_bookinfo_book_with_the_id_echoed() {
    let server = start().await;
    let (status, body) = get(&server, "/details/7").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "id": 7, "author": "William Shakespeare", "year": 1595, "type": "paperback",
            "pages": 200, "publisher": "PublisherA", "language": "English",
            "ISBN-10": "1234567890", "ISBN-13": "123-1234567890"
        })
    );
}

#[tokio::test]
async fn the_id_is_the_last_path_segment() {
    let server = start().await;
    let (status, body) = get(&server, "/details/books/0").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], 0);
}

#[tokio::test]
async fn a_non_numeric_id_is_a_400_with_bookinfos_message() {
    let server = start().await;
    assert_eq!(
        get(&server, "/details/abc").await,
        (400, json!({"error": "please provide numeric product id"}))
    );
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let server = start().await;
    let (status, body) = get(&server, "/nothing-here").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
}
