//! The contract between reviews and ratings, checked against the *real* ratings service (the
//! `ratings` crate, served on its own port), not a fake: the URL reviews calls, the body it
//! reads, and what each ratings variant looks like on the reviews side. The full reviews body
//! is compared with Bookinfo's, field by field.

use std::collections::HashMap;
use std::time::Duration;

use reviews::{Config, Reviews};
use serde_json::{Value, json};
use testkit::TestServer;

const TEXT1: &str =
    "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!";
const TEXT2: &str = "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.";
const UNAVAILABLE: &str = "Ratings service is currently unavailable";

/// The real ratings service, configured by `env`.
async fn ratings(env: &[(&str, &str)]) -> TestServer {
    let env: HashMap<&str, &str> = env.iter().copied().collect();
    let config = ratings::Config::from_env(&env).expect("valid ratings configuration");
    testkit::run_service(|listener, shutdown| {
        <ratings::Ratings as common::Service>::run(listener, config, shutdown)
    })
    .await
}

/// reviews, as `version` ("v2" or "v3"), calling `ratings`, with the given ratings timeout.
async fn reviews(version: &str, ratings: &TestServer, timeout: Option<Duration>) -> TestServer {
    let port = ratings.addr.port().to_string();
    let star_color = if version == "v3" { "red" } else { "black" };
    let env = HashMap::from([
        ("SERVICE_VERSION", version),
        ("ENABLE_RATINGS", "true"),
        ("STAR_COLOR", star_color),
        ("RATINGS_HOSTNAME", "127.0.0.1"),
        ("RATINGS_SERVICE_PORT", port.as_str()),
        ("HOSTNAME", "reviews-test"),
    ]);
    let mut config = Config::from_env(&env).expect("valid reviews configuration");
    if let Some(timeout) = timeout {
        config.ratings_timeout = timeout;
    }
    testkit::run_service(|listener, shutdown| {
        <Reviews as common::Service>::run(listener, config, shutdown)
    })
    .await
}

async fn get_json(server: &TestServer, path: &str) -> (u16, Value) {
    let response = reqwest::get(server.url(path)).await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

fn bookinfo_body(id: &str, color: &str, stars: [Value; 2]) -> Value {
    let [first, second] = stars;
    json!({
        "id": id,
        "podname": "reviews-test",
        "clustername": "null",
        "reviews": [
            {"reviewer": "Reviewer1", "text": TEXT1, "rating": {"stars": first, "color": color}},
            {"reviewer": "Reviewer2", "text": TEXT2, "rating": {"stars": second, "color": color}}
        ]
    })
}

#[tokio::test]
async fn reviews_v2_with_ratings_v1_is_bookinfos_page_with_black_stars() {
    let ratings = ratings(&[]).await;
    let reviews = reviews("v2", &ratings, None).await;
    assert_eq!(
        get_json(&reviews, "/reviews/0").await,
        (200, bookinfo_body("0", "black", [json!(5), json!(4)]))
    );
}

#[tokio::test]
async fn ratings_posted_for_a_product_show_up_in_its_reviews_only() {
    let ratings = ratings(&[]).await;
    let reviews = reviews("v3", &ratings, None).await;
    let posted = reqwest::Client::new()
        .post(ratings.url("/ratings/5"))
        .body(r#"{"Reviewer1": 2, "Reviewer2": 1}"#)
        .send()
        .await
        .expect("ratings answers");
    assert_eq!(posted.status().as_u16(), 200);

    assert_eq!(
        get_json(&reviews, "/reviews/5").await,
        (200, bookinfo_body("5", "red", [json!(2), json!(1)]))
    );
    assert_eq!(
        get_json(&reviews, "/reviews/6").await,
        (200, bookinfo_body("6", "red", [json!(5), json!(4)]))
    );
}

#[tokio::test]
async fn reviews_with_database_backed_ratings_v2() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = common::db::sqlite_url(&dir.path().join("ratings.db"));
    let ratings = ratings(&[("SERVICE_VERSION", "v2"), ("DATABASE_URL", &url)]).await;
    let reviews = reviews("v2", &ratings, None).await;
    assert_eq!(
        get_json(&reviews, "/reviews/3").await,
        (200, bookinfo_body("3", "black", [json!(5), json!(4)]))
    );
}

#[tokio::test]
async fn a_failing_ratings_leaves_the_reviews_without_stars() {
    let ratings = ratings(&[
        ("SERVICE_VERSION", "v-faulty"),
        ("RATINGS_FAULT_PROBABILITY", "1"),
    ])
    .await;
    let reviews = reviews("v2", &ratings, None).await;
    let (status, body) = get_json(&reviews, "/reviews/1").await;
    assert_eq!(status, 200);
    for review in body["reviews"].as_array().expect("a list of reviews") {
        assert_eq!(review["rating"], json!({"error": UNAVAILABLE}));
    }
}

/// Istio's fault-injection story in miniature: ratings answers late, reviews gives up at its
/// timeout and shows the reviews without stars (the tests shorten both durations).
#[tokio::test]
async fn a_ratings_slower_than_the_reviews_timeout_leaves_the_reviews_without_stars() {
    let ratings = ratings(&[
        ("SERVICE_VERSION", "v-delayed"),
        ("RATINGS_FAULT_PROBABILITY", "1"),
        ("RATINGS_FAULT_DELAY_MS", "30000"),
    ])
    .await;
    let reviews = reviews("v3", &ratings, Some(Duration::from_millis(200))).await;
    let (status, body) = get_json(&reviews, "/reviews/1").await;
    assert_eq!(status, 200);
    for review in body["reviews"].as_array().expect("a list of reviews") {
        assert_eq!(review["rating"], json!({"error": UNAVAILABLE}));
    }
}
