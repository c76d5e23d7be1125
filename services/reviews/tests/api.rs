//! reviews over a real socket, with a fake ratings service (an axum router on its own port)
//! standing in for the real one: the three versions, every way ratings can fail, and the
//! headers that must reach ratings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use reviews::{Config, Reviews};
use serde_json::{Value, json};
use testkit::TestServer;

const TEXT1: &str =
    "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!";
const TEXT2: &str = "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.";
const UNAVAILABLE: &str = "Ratings service is currently unavailable";

/// What the fake ratings service saw: one (path, headers) per request.
type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

/// A fake ratings service that answers every `/ratings/{id}` with `status` and `body`.
async fn fake_ratings(status: StatusCode, body: Value) -> (TestServer, Seen) {
    let seen = Seen::default();
    let log = seen.clone();
    let router = Router::new().route(
        "/ratings/{id}",
        get(
            move |Path(id): Path<String>, headers: HeaderMap| async move {
                log.lock()
                    .expect("the log is never poisoned")
                    .push((format!("/ratings/{id}"), headers));
                (status, axum::Json(body))
            },
        ),
    );
    (testkit::serve(router).await, seen)
}

/// The fake for a healthy ratings v1.
async fn ratings_v1() -> (TestServer, Seen) {
    fake_ratings(
        StatusCode::OK,
        json!({"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}),
    )
    .await
}

/// reviews configured by `env` plus the variables that point it at `ratings`, with `tweak`
/// applied to the configuration (to shorten the ratings timeout).
async fn start_with(
    env: &[(&str, &str)],
    ratings: Option<&TestServer>,
    tweak: impl FnOnce(&mut Config),
) -> TestServer {
    let port = ratings.map(|r| r.addr.port().to_string());
    let mut env: HashMap<&str, &str> = env.iter().copied().collect();
    if let Some(port) = &port {
        env.insert("RATINGS_HOSTNAME", "127.0.0.1");
        env.insert("RATINGS_SERVICE_PORT", port);
    }
    let mut config = Config::from_env(&env).expect("the test configuration is valid");
    tweak(&mut config);
    testkit::run_service(|listener, shutdown| {
        <Reviews as common::Service>::run(listener, config, shutdown)
    })
    .await
}

async fn start(env: &[(&str, &str)], ratings: Option<&TestServer>) -> TestServer {
    start_with(env, ratings, |_| {}).await
}

const V2: &[(&str, &str)] = &[("SERVICE_VERSION", "v2"), ("ENABLE_RATINGS", "true")];
const V3: &[(&str, &str)] = &[
    ("SERVICE_VERSION", "v3"),
    ("ENABLE_RATINGS", "true"),
    ("STAR_COLOR", "red"),
];

async fn get_json(server: &TestServer, path: &str) -> (u16, Value) {
    let response = reqwest::get(server.url(path))
        .await
        .expect("reviews answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("reviews answers JSON"))
}

/// The `rating` of both reviews.
fn ratings_of(body: &Value) -> (Value, Value) {
    (
        body["reviews"][0]["rating"].clone(),
        body["reviews"][1]["rating"].clone(),
    )
}

fn unavailable_both() -> (Value, Value) {
    (json!({"error": UNAVAILABLE}), json!({"error": UNAVAILABLE}))
}

#[tokio::test]
async fn health_reports_healthy() {
    let server = start(&[], None).await;
    assert_eq!(
        get_json(&server, "/health").await,
        (200, json!({"status": "Reviews is healthy"}))
    );
}

#[tokio::test]
async fn v1_answers_the_two_reviews_without_ratings_and_never_calls_ratings() {
    let (ratings, seen) = ratings_v1().await;
    let env = [("SERVICE_VERSION", "v1"), ("HOSTNAME", "reviews-v1-7d9")];
    let server = start(&env, Some(&ratings)).await;
    assert_eq!(
        get_json(&server, "/reviews/0").await,
        (
            200,
            json!({
                "id": "0",
                "podname": "reviews-v1-7d9",
                "clustername": "null",
                "reviews": [
                    {"reviewer": "Reviewer1", "text": TEXT1},
                    {"reviewer": "Reviewer2", "text": TEXT2}
                ]
            })
        )
    );
    assert!(seen.lock().expect("log").is_empty(), "v1 called ratings");
}

#[tokio::test]
async fn the_cluster_name_is_shown_when_set() {
    let server = start(&[("CLUSTER_NAME", "cluster-east")], None).await;
    let (_, body) = get_json(&server, "/reviews/1").await;
    assert_eq!(body["clustername"], "cluster-east");
    assert_eq!(body["podname"], "null");
}

#[tokio::test]
async fn v2_shows_black_stars_from_ratings() {
    let (ratings, seen) = ratings_v1().await;
    let server = start(V2, Some(&ratings)).await;
    let (status, body) = get_json(&server, "/reviews/7").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], "7");
    assert_eq!(
        ratings_of(&body),
        (
            json!({"stars": 5, "color": "black"}),
            json!({"stars": 4, "color": "black"})
        )
    );
    let paths: Vec<String> = seen
        .lock()
        .expect("log")
        .iter()
        .map(|s| s.0.clone())
        .collect();
    assert_eq!(paths, ["/ratings/7"]);
}

#[tokio::test]
async fn v3_shows_red_stars_from_ratings() {
    let (ratings, _) = fake_ratings(
        StatusCode::OK,
        json!({"id": 2, "ratings": {"Reviewer1": 1, "Reviewer2": 2}}),
    )
    .await;
    let server = start(V3, Some(&ratings)).await;
    let (status, body) = get_json(&server, "/reviews/2").await;
    assert_eq!(status, 200);
    assert_eq!(
        ratings_of(&body),
        (
            json!({"stars": 1, "color": "red"}),
            json!({"stars": 2, "color": "red"})
        )
    );
}

#[tokio::test]
async fn the_id_is_normalised_as_an_integer() {
    let (ratings, seen) = ratings_v1().await;
    let server = start(V2, Some(&ratings)).await;
    let (status, body) = get_json(&server, "/reviews/007").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], "7");
    assert_eq!(seen.lock().expect("log")[0].0, "/ratings/7");
}

#[tokio::test]
async fn a_ratings_error_status_gives_the_error_object_and_still_200() {
    let (ratings, _) = fake_ratings(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": "Service unavailable"}),
    )
    .await;
    let server = start(V2, Some(&ratings)).await;
    let (status, body) = get_json(&server, "/reviews/1").await;
    assert_eq!(status, 200);
    assert_eq!(ratings_of(&body), unavailable_both());
    assert_eq!(body["reviews"][0]["text"], TEXT1);
}

/// `GET path` on reviews: status, the values of `header`, and the JSON body.
async fn get_with_header(
    server: &TestServer,
    path: &str,
    header: &str,
) -> (u16, Vec<String>, Value) {
    let response = reqwest::get(server.url(path))
        .await
        .expect("reviews answers");
    let values = response
        .headers()
        .get_all(header)
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect();
    let status = response.status().as_u16();
    (
        status,
        values,
        response.json().await.expect("reviews answers JSON"),
    )
}

#[tokio::test]
async fn a_failed_hop_named_by_ratings_sidecar_is_passed_on_and_the_body_stays_the_same() {
    // What reviews' sidecar answers when a fault aborts the call to ratings.
    let aborted = Router::new().route(
        "/ratings/{id}",
        get(|| async {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [
                    ("x-sailkit-failed", "proxy"),
                    ("x-sailkit-flags", "FI"),
                    ("x-sailkit-failed-hop", "reviews-v2 -> ratings:9080"),
                    ("x-sailkit-elapsed-ms", "0"),
                    ("x-sailkit-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736"),
                ],
                "fault filter abort",
            )
        }),
    );
    let ratings = testkit::serve(aborted).await;
    let server = start(V2, Some(&ratings)).await;

    let (status, hops, body) = get_with_header(&server, "/reviews/1", "x-sailkit-failed-hop").await;
    assert_eq!(status, 200);
    assert_eq!(hops, ["reviews-v2 -> ratings:9080"]);
    assert_eq!(ratings_of(&body), unavailable_both());
    let (_, trace_ids, _) = get_with_header(&server, "/reviews/1", "x-sailkit-trace-id").await;
    assert_eq!(trace_ids, ["4bf92f3577b34da6a3ce929d0e0e4736"]);

    // A healthy ratings: no failed hop, and so no header.
    let (healthy, _) = ratings_v1().await;
    let server = start(V2, Some(&healthy)).await;
    let (status, hops, _) = get_with_header(&server, "/reviews/1", "x-sailkit-failed-hop").await;
    assert_eq!((status, hops), (200, Vec::<String>::new()));
}

#[tokio::test]
async fn a_ratings_service_that_is_not_listening_gives_the_error_object() {
    // Bind a port, then free it: nothing listens there any more.
    let closed = testkit::serve(Router::new()).await;
    let port = closed.addr.port().to_string();
    drop(closed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let env = [
        ("ENABLE_RATINGS", "true"),
        ("RATINGS_HOSTNAME", "127.0.0.1"),
        ("RATINGS_SERVICE_PORT", port.as_str()),
    ];
    let server = start(&env, None).await;
    let (status, body) = get_json(&server, "/reviews/1").await;
    assert_eq!(status, 200);
    assert_eq!(ratings_of(&body), unavailable_both());
}

#[tokio::test]
async fn a_ratings_service_slower_than_the_timeout_gives_the_error_object() {
    let slow = Router::new().route(
        "/ratings/{id}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            axum::Json(json!({"id": 1, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}))
        }),
    );
    let ratings = testkit::serve(slow).await;
    let server = start_with(V3, Some(&ratings), |config| {
        config.ratings_timeout = Duration::from_millis(200);
    })
    .await;
    let (status, body) = get_json(&server, "/reviews/1").await;
    assert_eq!(status, 200);
    assert_eq!(ratings_of(&body), unavailable_both());
}

#[tokio::test]
async fn a_reviewer_missing_from_ratings_gets_the_error_object() {
    let (ratings, _) = fake_ratings(
        StatusCode::OK,
        json!({"id": 1, "ratings": {"Reviewer2": 3}}),
    )
    .await;
    let server = start(V2, Some(&ratings)).await;
    let (_, body) = get_json(&server, "/reviews/1").await;
    assert_eq!(
        ratings_of(&body),
        (
            json!({"error": UNAVAILABLE}),
            json!({"stars": 3, "color": "black"})
        )
    );
}

#[tokio::test]
async fn a_ratings_body_that_is_not_ratings_gives_the_error_object() {
    let (ratings, _) = fake_ratings(StatusCode::OK, json!(["not", "ratings"])).await;
    let server = start(V2, Some(&ratings)).await;
    let (status, body) = get_json(&server, "/reviews/1").await;
    assert_eq!(status, 200);
    assert_eq!(ratings_of(&body), unavailable_both());
}

#[tokio::test]
async fn trace_headers_and_end_user_reach_ratings_and_nothing_else_does() {
    let (ratings, seen) = ratings_v1().await;
    let server = start(V2, Some(&ratings)).await;
    let response = reqwest::Client::new()
        .get(server.url("/reviews/1"))
        .header("x-request-id", "req-42")
        .header("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7")
        .header("x-b3-spanid", "e457b5a2e4d86bd1")
        .header("x-b3-sampled", "1")
        .header("end-user", "jason")
        .header("x-not-for-ratings", "private")
        .send()
        .await
        .expect("reviews answers");
    assert_eq!(response.status().as_u16(), 200);

    let seen = seen.lock().expect("log");
    let (_, headers) = seen.first().expect("ratings was called");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("x-request-id"), Some("req-42"));
    assert_eq!(
        header("x-b3-traceid"),
        Some("80f198ee56343ba864fe8b2a57d3eff7")
    );
    assert_eq!(header("x-b3-spanid"), Some("e457b5a2e4d86bd1"));
    assert_eq!(header("x-b3-sampled"), Some("1"));
    assert_eq!(header("end-user"), Some("jason"));
    assert_eq!(header("x-not-for-ratings"), None);
}

#[tokio::test]
async fn an_id_that_is_not_an_integer_is_a_json_404() {
    let server = start(&[], None).await;
    for path in ["/reviews/abc", "/reviews/1.5", "/reviews/99999999999"] {
        let (status, body) = get_json(&server, path).await;
        assert_eq!(status, 404, "GET {path}");
        let message = body["error"].as_str().expect("an error message");
        assert!(message.contains("must be an integer"), "{message}");
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let server = start(&[], None).await;
    for path in ["/nothing-here", "/reviews/1/2", "/reviews"] {
        let (status, body) = get_json(&server, path).await;
        assert_eq!(status, 404, "GET {path}");
        assert!(body["error"].is_string());
    }
}
