//! ratings v1 over a real socket: the routes, bodies and statuses of Bookinfo's ratings, and
//! ratings stored by POST.

mod support;

use serde_json::json;
use support::{get, post, start};

#[tokio::test]
async fn health_reports_healthy() {
    let server = start(&[]).await;
    assert_eq!(
        get(&server, "/health").await,
        (200, json!({"status": "Ratings is healthy"}))
    );
}

#[tokio::test]
async fn every_product_starts_with_bookinfos_five_and_four_stars() {
    let server = start(&[("SERVICE_VERSION", "v1")]).await;
    assert_eq!(
        get(&server, "/ratings/7").await,
        (
            200,
            json!({"id": 7, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})
        )
    );
}

#[tokio::test]
async fn the_id_is_the_last_path_segment() {
    let server = start(&[]).await;
    let (status, body) = get(&server, "/ratings/books/3").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], 3);
}

#[tokio::test]
async fn an_id_that_is_not_a_whole_number_is_a_400_with_bookinfos_message() {
    let server = start(&[]).await;
    for path in ["/ratings/abc", "/ratings/", "/ratings/5abc", "/ratings/1.5"] {
        assert_eq!(
            get(&server, path).await,
            (400, json!({"error": "please provide numeric product ID"})),
            "GET {path}"
        );
    }
    assert_eq!(
        post(&server, "/ratings/abc", r#"{"Reviewer1": 1}"#).await,
        (400, json!({"error": "please provide numeric product ID"}))
    );
}

#[tokio::test]
async fn posted_ratings_are_returned_and_then_served_for_that_product_only() {
    let server = start(&[]).await;
    let posted = json!({"Reviewer1": 1, "Reviewer2": 2, "Reviewer3": 3});

    let (status, body) = post(&server, "/ratings/3", &posted.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"id": 3, "ratings": posted}));

    assert_eq!(
        get(&server, "/ratings/3").await,
        (200, json!({"id": 3, "ratings": posted}))
    );
    assert_eq!(
        get(&server, "/ratings/4").await,
        (
            200,
            json!({"id": 4, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})
        )
    );
}

#[tokio::test]
async fn a_second_post_replaces_the_first() {
    let server = start(&[]).await;
    post(&server, "/ratings/1", r#"{"Reviewer1": 1, "Reviewer2": 1}"#).await;
    post(&server, "/ratings/1", r#"{"Reviewer2": 5}"#).await;
    assert_eq!(
        get(&server, "/ratings/1").await,
        (200, json!({"id": 1, "ratings": {"Reviewer2": 5}}))
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_a_400_with_bookinfos_message() {
    let server = start(&[]).await;
    for body in ["{not json", "", "[5, 4]", "\"five\""] {
        assert_eq!(
            post(&server, "/ratings/1", body).await,
            (400, json!({"error": "please provide valid ratings JSON"})),
            "body {body:?}"
        );
    }
    // Nothing was stored.
    assert_eq!(
        get(&server, "/ratings/1").await.1["ratings"]["Reviewer1"],
        5
    );
}

#[tokio::test]
async fn stars_outside_one_to_five_are_a_400_that_says_why() {
    let server = start(&[]).await;
    for body in [
        r#"{"Reviewer1": 6}"#,
        r#"{"Reviewer1": 0}"#,
        r#"{"Reviewer1": 4.5}"#,
        r#"{"Reviewer1": "5"}"#,
    ] {
        let (status, answer) = post(&server, "/ratings/1", body).await;
        assert_eq!(status, 400, "body {body}");
        let message = answer["error"].as_str().expect("an error message");
        assert!(message.contains("from 1 to 5"), "{message}");
        assert!(message.contains("Reviewer1"), "{message}");
    }
    assert_eq!(
        get(&server, "/ratings/1").await.1["ratings"]["Reviewer1"],
        5
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let server = start(&[]).await;
    let (status, body) = get(&server, "/nothing-here").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());

    let response = reqwest::Client::new()
        .delete(server.url("/ratings/1"))
        .send()
        .await
        .expect("ratings answers");
    assert_eq!(response.status().as_u16(), 405);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert!(body["error"].is_string());
}
