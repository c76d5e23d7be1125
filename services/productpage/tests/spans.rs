//! productpage's spans: the page's handler span in the caller's trace, and a client span for
//! each call to a peer, whose context is what the peer receives. Exported to a real OTLP
//! receiver; the peers are recording fakes.

mod support;

use std::time::Duration;

use support::Peers;
use testkit::Running;
use testkit::otlp::{
    CALLER_SPAN, CALLER_TRACE as TRACE, OtlpReceiver, SpanKind, caller_traceparent, one,
};

#[tokio::test]
async fn each_peer_call_is_a_child_span_whose_context_the_peer_receives() {
    let otlp = OtlpReceiver::start().await;
    let peers = Peers::bookinfo().await;
    let mut config = peers.config();
    config.tracing.otlp_endpoint = Some(otlp.endpoint.clone());
    let productpage = Running::start(|listener, shutdown| {
        <productpage::Productpage as common::Service>::run(listener, config, shutdown)
    })
    .await;
    let response = reqwest::Client::new()
        .get(productpage.url("/productpage"))
        .header("traceparent", caller_traceparent())
        .header("x-request-id", "req-1")
        .send()
        .await
        .expect("productpage answers");
    assert_eq!(response.status(), 200);
    productpage.stop().await;
    let spans = otlp
        .wait_until(Duration::from_secs(2), |spans| spans.len() >= 4)
        .await;

    let page = one(&spans, None, "GET /productpage");
    assert_eq!(page.kind, SpanKind::Server);
    assert_eq!(page.parent_span_id, CALLER_SPAN);
    assert_eq!(page.service, "productpage");
    for (name, peer) in [
        ("GET /details/{id}", &peers.details),
        ("GET /reviews/{id}", &peers.reviews),
        ("GET /api/v1/banners/active", &peers.banner),
    ] {
        let call = one(&spans, None, name);
        assert_eq!(call.kind, SpanKind::Client, "{name}");
        assert_eq!(call.parent_span_id, page.span_id, "{name}");
        assert_eq!(call.trace_id, TRACE, "{name}");
        assert_eq!(
            peer.header(0, "traceparent"),
            Some(format!("00-{TRACE}-{}-01", call.span_id)),
            "{name}: the peer is sent the call's own context"
        );
        assert_eq!(peer.header(0, "x-request-id").as_deref(), Some("req-1"));
    }
    let banner = one(&spans, None, "GET /api/v1/banners/active");
    assert_eq!(banner.attribute("http.response.status_code"), Some("404"));
    assert!(banner.error, "a 4xx answer is a failed call");
    assert!(!page.error, "the page itself answered 200");
}
