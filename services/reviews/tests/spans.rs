//! The services' own spans, exported over OTLP to a real receiver and joined to the caller's
//! trace: reviews v2 calling a real ratings v2 (SQLite), each with its own tracer provider in
//! this one process, `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at the receiver.
//!
//! Each test stops the services before reading the spans: the spans of the last requests are
//! sent when a service stops (the batch exporter is flushed after the drain), so a test that
//! finds them has checked that too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::{Value, json};
use testkit::Running;
use testkit::otlp::{
    CALLER_SPAN, CALLER_TRACE as TRACE, OtlpReceiver, ReceivedSpan, SpanKind, caller_traceparent,
    one,
};

/// ratings v2 over a fresh SQLite file, exporting to `otlp` when given.
async fn ratings(dir: &tempfile::TempDir, otlp: Option<&OtlpReceiver>) -> Running {
    let url = common::db::sqlite_url(&dir.path().join("ratings.db"));
    ratings_with(&[("SERVICE_VERSION", "v2"), ("DATABASE_URL", &url)], otlp).await
}

/// ratings as `vars` say, exporting to `otlp` when given.
async fn ratings_with(vars: &[(&str, &str)], otlp: Option<&OtlpReceiver>) -> Running {
    let mut env: HashMap<&str, &str> = vars.iter().copied().collect();
    if let Some(otlp) = otlp {
        env.insert("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint.as_str());
    }
    let config = ratings::Config::from_env(&env).expect("valid ratings configuration");
    Running::start(|listener, shutdown| {
        <ratings::Ratings as common::Service>::run(listener, config, shutdown)
    })
    .await
}

/// reviews v2 calling ratings on `ratings_port`, exporting to `otlp` when given.
async fn reviews(ratings_port: u16, otlp: Option<&OtlpReceiver>) -> Running {
    let port = ratings_port.to_string();
    let mut env = HashMap::from([
        ("SERVICE_VERSION", "v2"),
        ("ENABLE_RATINGS", "true"),
        ("RATINGS_HOSTNAME", "127.0.0.1"),
        ("RATINGS_SERVICE_PORT", port.as_str()),
    ]);
    if let Some(otlp) = otlp {
        env.insert("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint.as_str());
    }
    let config = reviews::Config::from_env(&env).expect("valid reviews configuration");
    Running::start(|listener, shutdown| {
        <reviews::Reviews as common::Service>::run(listener, config, shutdown)
    })
    .await
}

/// `GET /reviews/0` on `reviews` with `headers`; the body, which must be a 200.
async fn get_reviews(reviews: &Running, headers: &[(&str, &str)]) -> Value {
    let mut request = reqwest::Client::new().get(reviews.url("/reviews/0"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("reviews answers");
    assert_eq!(response.status(), 200);
    response.json().await.expect("a JSON body")
}

/// The four spans of one reviews request, checked for their places in one trace whose caller
/// span is `caller_span` (empty: no caller). Returns the trace id.
fn assert_joined(spans: &[ReceivedSpan], caller_span: &str) -> String {
    let handler = one(spans, Some("reviews"), "GET /reviews/{id}");
    let call = one(spans, Some("reviews"), "GET /ratings/{id}");
    // ratings' route is `/ratings/{*rest}`: it answers Bookinfo's errors for odd ids itself.
    let ratings = one(spans, Some("ratings"), "GET /ratings/{*rest}");
    let query = one(spans, Some("ratings"), "SELECT ratings");

    assert_eq!(handler.kind, SpanKind::Server);
    assert_eq!(handler.parent_span_id, caller_span, "the caller's span");
    assert_eq!(handler.attribute("http.route"), Some("/reviews/{id}"));
    assert_eq!(handler.attribute("http.response.status_code"), Some("200"));
    assert_eq!(handler.service_version.as_deref(), Some("v2"));

    assert_eq!(call.kind, SpanKind::Client);
    assert_eq!(
        call.parent_span_id, handler.span_id,
        "a child of the handler"
    );
    assert_eq!(call.attribute("http.response.status_code"), Some("200"));

    assert_eq!(ratings.kind, SpanKind::Server);
    assert_eq!(
        ratings.parent_span_id, call.span_id,
        "ratings' handler is a child of the call: the header it received says so"
    );

    assert_eq!(query.kind, SpanKind::Client);
    assert_eq!(query.parent_span_id, ratings.span_id);
    assert_eq!(query.attribute("db.system.name"), Some("sqlite"));
    assert_eq!(query.attribute("db.operation.name"), Some("SELECT"));

    let trace = handler.trace_id.clone();
    for span in [call, ratings, query] {
        assert_eq!(span.trace_id, trace, "{span:#?}");
    }
    assert!(spans.iter().all(|s| !s.error), "no error in {spans:#?}");
    trace
}

/// Starts ratings and reviews exporting to a new receiver, sends one request with `headers`,
/// stops both, and returns the spans.
async fn one_traced_request(headers: &[(&str, &str)]) -> Vec<ReceivedSpan> {
    let otlp = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let ratings = ratings(&dir, Some(&otlp)).await;
    let reviews = reviews(ratings.addr.port(), Some(&otlp)).await;
    let body = get_reviews(&reviews, headers).await;
    assert_eq!(body["reviews"][0]["rating"]["stars"], json!(5), "{body}");
    reviews.stop().await;
    ratings.stop().await;
    otlp.wait_until(Duration::from_secs(2), |spans| spans.len() >= 4)
        .await
}

#[tokio::test]
async fn a_w3c_caller_gets_the_handler_the_peer_call_ratings_and_its_query_in_its_trace() {
    let spans = one_traced_request(&[("traceparent", &caller_traceparent())]).await;
    assert_eq!(assert_joined(&spans, CALLER_SPAN), TRACE);
}

#[tokio::test]
async fn a_b3_caller_is_joined_the_same_way() {
    let spans = one_traced_request(&[
        ("x-b3-traceid", TRACE),
        ("x-b3-spanid", CALLER_SPAN),
        ("x-b3-sampled", "1"),
    ])
    .await;
    assert_eq!(assert_joined(&spans, CALLER_SPAN), TRACE);

    let single = format!("{TRACE}-{CALLER_SPAN}-1");
    let spans = one_traced_request(&[("b3", &single)]).await;
    assert_eq!(assert_joined(&spans, CALLER_SPAN), TRACE);
}

#[tokio::test]
async fn a_request_without_trace_headers_starts_a_new_trace() {
    let spans = one_traced_request(&[]).await;
    let trace = assert_joined(&spans, "");
    assert_eq!(trace.len(), 32);
    assert_ne!(trace, "0".repeat(32));
}

#[tokio::test]
async fn an_unsampled_caller_keeps_its_decision_and_nothing_is_exported() {
    let traceparent = format!("00-{TRACE}-{CALLER_SPAN}-00");
    let spans = one_traced_request(&[("traceparent", &traceparent)]).await;
    assert!(spans.is_empty(), "{spans:#?}");
}

/// A stand-in for ratings that answers like it and keeps the headers of each call.
async fn recording_ratings() -> (Running, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/ratings/{id}",
        get(move |headers: HeaderMap| {
            keep.lock().expect("never poisoned").push(headers);
            async { Json(json!({"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})) }
        }),
    );
    let running = Running::start(|listener, shutdown| async move {
        common::server::serve(listener, app, shutdown).await?;
        Ok(())
    })
    .await;
    (running, seen)
}

/// The headers of the first call the recording ratings received.
fn first_call(seen: &Mutex<Vec<HeaderMap>>) -> HeaderMap {
    let seen = seen.lock().expect("never poisoned");
    seen.first().cloned().expect("ratings was called")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn b3_in_is_b3_out_with_the_peer_calls_span_and_w3c_beside_it() {
    let otlp = OtlpReceiver::start().await;
    let (ratings, seen) = recording_ratings().await;
    let reviews = reviews(ratings.addr.port(), Some(&otlp)).await;
    get_reviews(
        &reviews,
        &[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", CALLER_SPAN),
            ("x-b3-sampled", "1"),
            ("end-user", "jason"),
        ],
    )
    .await;
    reviews.stop().await;
    let spans = otlp
        .wait_until(Duration::from_secs(5), |spans| spans.len() >= 2)
        .await;
    let call = one(&spans, Some("reviews"), "GET /ratings/{id}");

    let headers = &first_call(&seen);
    assert_eq!(header(headers, "x-b3-traceid"), TRACE);
    assert_eq!(header(headers, "x-b3-spanid"), call.span_id);
    assert_eq!(header(headers, "x-b3-sampled"), "1");
    assert_eq!(
        header(headers, "traceparent"),
        format!("00-{TRACE}-{}-01", call.span_id)
    );
    assert_eq!(
        header(headers, "end-user"),
        "jason",
        "the other headers still travel"
    );
    ratings.stop().await;
}

#[tokio::test]
async fn with_no_endpoint_nothing_is_exported_and_the_trace_headers_pass_through() {
    let otlp = OtlpReceiver::start().await;
    let (ratings, seen) = recording_ratings().await;
    let reviews = reviews(ratings.addr.port(), None).await;
    let traceparent = caller_traceparent();
    let body = get_reviews(&reviews, &[("traceparent", &traceparent)]).await;
    assert_eq!(body["reviews"][0]["rating"]["stars"], json!(5), "{body}");
    reviews.stop().await;

    assert_eq!(
        header(&first_call(&seen), "traceparent"),
        traceparent,
        "copied as it came: no span of this service in between"
    );
    ratings.stop().await;
    assert!(otlp.spans().is_empty());
}

#[tokio::test]
async fn a_failing_ratings_marks_its_handler_and_the_peer_call_as_errors() {
    let otlp = OtlpReceiver::start().await;
    let ratings = ratings_with(
        &[
            ("SERVICE_VERSION", "v-faulty"),
            ("RATINGS_FAULT_PROBABILITY", "1"),
        ],
        Some(&otlp),
    )
    .await;
    let reviews = reviews(ratings.addr.port(), Some(&otlp)).await;
    let body = get_reviews(&reviews, &[]).await;
    assert!(body["reviews"][0]["rating"]["error"].is_string(), "{body}");
    reviews.stop().await;
    ratings.stop().await;
    let spans = otlp
        .wait_until(Duration::from_secs(2), |spans| spans.len() >= 3)
        .await;

    let failed = one(&spans, Some("ratings"), "GET /ratings/{*rest}");
    assert_eq!(failed.attribute("http.response.status_code"), Some("503"));
    assert!(failed.error, "a 5xx is the server's error");
    let call = one(&spans, Some("reviews"), "GET /ratings/{id}");
    assert_eq!(call.attribute("http.response.status_code"), Some("503"));
    assert!(call.error, "the call failed");
    let handler = one(&spans, Some("reviews"), "GET /reviews/{id}");
    assert!(!handler.error, "reviews still answered 200");
}

#[tokio::test]
async fn a_collector_that_is_down_costs_neither_the_answer_nor_the_stop() {
    // A port that was just free: nothing listens there.
    let closed = testkit::listener().await;
    let endpoint = format!("http://{}", closed.local_addr().expect("bound"));
    drop(closed);
    let env = HashMap::from([("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())]);
    let config = reviews::Config::from_env(&env).expect("valid reviews configuration");
    let reviews = Running::start(|listener, shutdown| {
        <reviews::Reviews as common::Service>::run(listener, config, shutdown)
    })
    .await;
    let body = get_reviews(&reviews, &[("traceparent", &caller_traceparent())]).await;
    assert_eq!(body["reviews"].as_array().map(Vec::len), Some(2), "{body}");
    let started = std::time::Instant::now();
    reviews.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        started.elapsed()
    );
}
