//! The monolith's spans: the same handler span and database spans as the split services, from
//! the same libraries, and an internal span for each in-process call, all in the caller's trace,
//! exported as `monolith` to a real OTLP receiver.

use std::collections::HashMap;
use std::time::Duration;

use testkit::Running;
use testkit::otlp::{
    CALLER_SPAN, CALLER_TRACE as TRACE, OtlpReceiver, SpanKind, caller_traceparent, one,
};

#[tokio::test]
async fn a_page_is_one_trace_with_a_span_per_in_process_call_and_query() {
    let otlp = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = common::db::sqlite_url(&dir.path().join("monolith.db"));
    let env = HashMap::from([
        ("DATABASE_URL", url.as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint.as_str()),
    ]);
    let config = monolith::Config::from_env(&env).expect("a valid configuration");
    let monolith = Running::start(|listener, shutdown| {
        <monolith::Monolith as common::Service>::run(listener, config, shutdown)
    })
    .await;

    let response = reqwest::Client::new()
        .get(monolith.url("/productpage"))
        .header("traceparent", caller_traceparent())
        .send()
        .await
        .expect("the monolith answers");
    assert_eq!(response.status(), 200);
    monolith.stop().await;
    let spans = otlp
        .wait_until(Duration::from_secs(2), |spans| spans.len() >= 6)
        .await;

    let page = one(&spans, None, "GET /productpage");
    assert_eq!(page.kind, SpanKind::Server);
    assert_eq!(page.parent_span_id, CALLER_SPAN);
    for peer in ["GET /details/{id}", "GET /reviews/{id}"] {
        let call = one(&spans, None, peer);
        assert_eq!(call.kind, SpanKind::Internal, "{peer}: no network hop");
        assert_eq!(call.parent_span_id, page.span_id, "{peer}");
    }
    let ratings = one(&spans, None, "GET /ratings/{id}");
    assert_eq!(
        ratings.parent_span_id,
        one(&spans, None, "GET /reviews/{id}").span_id,
        "reviews calls ratings, in process"
    );
    let banner = one(&spans, None, "GET /api/v1/banners/active");
    assert_eq!(banner.parent_span_id, page.span_id);
    let query = one(&spans, None, "SELECT banners");
    assert_eq!(query.parent_span_id, banner.span_id);
    assert_eq!(query.attribute("db.system.name"), Some("sqlite"));
    assert!(
        spans
            .iter()
            .all(|s| s.trace_id == TRACE && s.service == "monolith"),
        "{spans:#?}"
    );
}
