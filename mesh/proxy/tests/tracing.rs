//! Distributed tracing through a real proxy in front of a real upstream that records the headers
//! it gets: W3C `traceparent` keeps its trace with a new span, B3 in is B3 out, a request
//! without a context starts a trace and gets an `x-request-id`, the caller's sampling decision
//! is kept (`x-b3-sampled: 0` included), `--trace-sampling` 0 and 100; spans reach a real OTLP
//! collector with their parent and child ids and Envoy's attributes; a collector that is down
//! slows nothing.

#[path = "support/fake_collector.rs"]
mod fake_collector;
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fake_collector::{Collector, Recording};
use support::{App, InboundProxy, Mesh};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";
const URL: &str = "http://ratings:9080/ratings/0";

/// A productpage sidecar with `ratings` at `upstream`, its tracing flags set by `sampling` and
/// `collector`.
async fn sidecar(upstream: SocketAddr, sampling: f64, collector: Option<String>) -> Mesh {
    Mesh::start_tuned(
        &[("app", "productpage"), ("version", "v1")],
        &[("ratings", vec![(upstream, "v1")])],
        &[],
        |settings| {
            settings.tracing.trace_sampling = sampling;
            settings.tracing.otlp_endpoint = collector;
        },
    )
    .await
}

/// GET through the proxy with these headers; the status.
async fn get(mesh: &Mesh, headers: &[(&str, &str)]) -> u16 {
    let mut request = mesh.client.get(URL);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request through the proxy");
    response.status().as_u16()
}

/// `traceparent`'s four parts.
fn traceparent(seen: &HashMap<String, String>) -> [String; 4] {
    let value = seen.get("traceparent").expect("a traceparent");
    let parts: Vec<String> = value.split('-').map(str::to_owned).collect();
    parts.try_into().expect("four parts")
}

#[tokio::test]
async fn traceparent_keeps_its_trace_with_a_new_span() {
    let upstream = Recording::start().await;
    let mesh = sidecar(upstream.addr, 1.0, None).await;
    let sent = format!("00-{TRACE}-{SPAN}-01");
    assert_eq!(
        get(&mesh, &[("traceparent", &sent), ("tracestate", "v=1")]).await,
        200
    );
    let seen = upstream.last();
    let [version, trace, span, flags] = traceparent(&seen);
    assert_eq!((version.as_str(), trace.as_str()), ("00", TRACE));
    assert_ne!(span, SPAN, "this hop's span replaces the caller's");
    assert_eq!(span.len(), 16);
    assert_eq!(flags, "01", "the caller's decision is kept at 1 %");
    assert_eq!(seen.get("tracestate").map(String::as_str), Some("v=1"));
    assert!(!seen.contains_key("x-b3-traceid"), "no B3 in, no B3 out");
}

#[tokio::test]
async fn b3_in_is_b3_out_in_the_same_encoding() {
    let upstream = Recording::start().await;
    let mesh = sidecar(upstream.addr, 0.0, None).await;
    let multi = [
        ("x-b3-traceid", TRACE),
        ("x-b3-spanid", SPAN),
        ("x-b3-sampled", "1"),
    ];
    assert_eq!(get(&mesh, &multi).await, 200);
    let seen = upstream.last();
    assert_eq!(seen["x-b3-traceid"], TRACE);
    assert_eq!(seen["x-b3-parentspanid"], SPAN);
    assert_eq!(seen["x-b3-sampled"], "1", "kept even at 0 %");
    let [_, trace, span, flags] = traceparent(&seen);
    assert_eq!((trace.as_str(), flags.as_str()), (TRACE, "01"));
    assert_eq!(seen["x-b3-spanid"], span, "one new span, in both formats");
    assert_ne!(span, SPAN);
    assert!(!seen.contains_key("b3"));

    let single = format!("{TRACE}-{SPAN}-1");
    assert_eq!(get(&mesh, &[("b3", &single)]).await, 200);
    let seen = upstream.last();
    let [_, _, span, _] = traceparent(&seen);
    assert_eq!(seen["b3"], format!("{TRACE}-{span}-1"));
    assert!(!seen.contains_key("x-b3-traceid"));
}

#[tokio::test]
async fn a_request_without_context_starts_a_trace_and_gets_a_request_id() {
    let upstream = Recording::start().await;
    let mesh = sidecar(upstream.addr, 1.0, None).await;
    assert_eq!(get(&mesh, &[]).await, 200);
    let first = upstream.last();
    let [_, trace, span, _] = traceparent(&first);
    assert_eq!(trace.len(), 32);
    assert_ne!(trace, "0".repeat(32));
    assert_ne!(span, "0".repeat(16));
    let id = &first["x-request-id"];
    let uuid = uuid_parts(id);
    assert_eq!(uuid[2].chars().next(), Some('4'), "a version 4 UUID: {id}");

    assert_eq!(get(&mesh, &[]).await, 200);
    let second = upstream.last();
    assert_ne!(
        traceparent(&second)[1],
        trace,
        "each request is a new trace"
    );
    assert_ne!(&second["x-request-id"], id);

    assert_eq!(
        get(&mesh, &[("x-request-id", "given-by-the-caller")]).await,
        200
    );
    assert_eq!(upstream.last()["x-request-id"], "given-by-the-caller");
}

fn uuid_parts(id: &str) -> Vec<&str> {
    let parts: Vec<&str> = id.split('-').collect();
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
    parts
}

#[tokio::test]
async fn malformed_context_starts_a_new_trace() {
    let upstream = Recording::start().await;
    let mesh = sidecar(upstream.addr, 0.0, None).await;
    for bad in [
        ("traceparent", "00-zzzz-00f067aa0ba902b7-01"),
        ("b3", "not-b3"),
        ("x-b3-traceid", "short"),
    ] {
        assert_eq!(get(&mesh, &[bad]).await, 200, "{bad:?}");
        let [_, trace, _, flags] = traceparent(&upstream.last());
        assert_ne!(trace, TRACE);
        assert_eq!(flags, "00", "a new trace, sampled at 0 %: {bad:?}");
    }
}

#[tokio::test]
async fn b3_sampled_0_stays_unsampled_at_100_percent() {
    let upstream = Recording::start().await;
    let collector = Collector::start().await;
    let mesh = sidecar(upstream.addr, 100.0, Some(collector.url())).await;
    let not_sampled = [
        ("x-b3-traceid", TRACE),
        ("x-b3-spanid", SPAN),
        ("x-b3-sampled", "0"),
    ];
    assert_eq!(get(&mesh, &not_sampled).await, 200);
    let seen = upstream.last();
    assert_eq!(seen["x-b3-sampled"], "0");
    assert_eq!(traceparent(&seen)[3], "00");
    // A sampled request after it: once its span is in, the first one would have been too.
    assert_eq!(get(&mesh, &[]).await, 200);
    let spans = collector.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spans = if collector.spans().len() > spans.len() {
        collector.spans()
    } else {
        spans
    };
    assert!(
        spans.iter().all(|span| span.trace_id != TRACE),
        "the unsampled request was exported: {spans:?}"
    );
}

#[tokio::test]
async fn sampling_0_and_100_percent() {
    let upstream = Recording::start().await;
    for (percent, flags) in [(0.0, "00"), (100.0, "01")] {
        let mesh = sidecar(upstream.addr, percent, None).await;
        for _ in 0..20 {
            assert_eq!(get(&mesh, &[]).await, 200);
            assert_eq!(traceparent(&upstream.last())[3], flags, "at {percent} %");
        }
    }
}

#[tokio::test]
async fn spans_reach_the_collector_as_parent_and_child() {
    let app = Recording::start().await;
    let collector = Collector::start().await;
    let url = collector.url();
    let callee = InboundProxy::start_tuned(App::At(app.addr), |settings| {
        settings.labels = vec![
            ("app".to_owned(), "ratings".to_owned()),
            ("version".to_owned(), "v1".to_owned()),
        ];
        settings.tracing.otlp_endpoint = Some(url.clone());
    })
    .await;
    // The caller's sidecar samples; the callee's keeps the decision (its own rate is 1 %).
    let caller = sidecar(callee.inbound, 100.0, Some(url)).await;
    let sent = format!("00-{TRACE}-{SPAN}-01");
    assert_eq!(get(&caller, &[("traceparent", &sent)]).await, 200);
    let seen = app.last();
    let spans = collector.wait_for(2).await;
    let client = spans.iter().find(|s| s.kind == 3).expect("a client span");
    let server = spans.iter().find(|s| s.kind == 2).expect("a server span");

    assert_eq!(client.service, "productpage.default");
    assert_eq!(client.name, "ratings.default.svc.cluster.local:9080/*");
    assert_eq!(
        (client.trace_id.as_str(), client.parent_span_id.as_str()),
        (TRACE, SPAN)
    );
    assert_eq!(server.service, "ratings.default");
    assert_eq!(server.name, "ratings.default.svc.cluster.local:9080/*");
    assert_eq!(server.trace_id, TRACE);
    assert_eq!(
        server.parent_span_id, client.span_id,
        "the server span is the client's child"
    );
    assert_eq!(
        traceparent(&seen)[2],
        server.span_id,
        "the application is the server span's child"
    );

    let attribute = |span: &fake_collector::Received, key: &str| {
        span.attributes.get(key).cloned().unwrap_or_default()
    };
    for (key, value) in [
        ("http.method", "GET"),
        ("http.status_code", "200"),
        ("http.url", URL),
        ("response_flags", "-"),
        (
            "upstream_cluster",
            "outbound|9080||ratings.default.svc.cluster.local",
        ),
        ("node_id", "sidecar~productpage-v1.default"),
        ("istio.canonical_service", "productpage"),
        ("istio.canonical_revision", "v1"),
        ("component", "proxy"),
    ] {
        assert_eq!(attribute(client, key), value, "client span's {key}");
    }
    assert_eq!(
        attribute(client, "upstream_address"),
        callee.inbound.to_string()
    );
    assert_eq!(attribute(server, "upstream_cluster"), "inbound|9080||");
    assert_eq!(attribute(server, "node_id"), "sidecar~ratings-v1.default");
    assert_eq!(attribute(server, "upstream_address"), app.addr.to_string());
    let request_id = &seen["x-request-id"];
    assert_eq!(&attribute(client, "guid:x-request-id"), request_id);
    assert_eq!(&attribute(server, "guid:x-request-id"), request_id);
    assert_eq!((client.status, server.status), (0, 0), "no error");
}

#[tokio::test]
async fn a_failed_request_is_an_error_span() {
    let collector = Collector::start().await;
    let mesh = sidecar(support::refused_addr(), 100.0, Some(collector.url())).await;
    assert_eq!(get(&mesh, &[]).await, 503);
    let spans = collector.wait_for(1).await;
    let span = &spans[0];
    assert_eq!(span.status, 2, "error: {span:?}");
    assert_eq!(span.attributes["error"], "true");
    assert_eq!(span.attributes["response_flags"], "UF,URX");
    assert_eq!(span.attributes["http.status_code"], "503");
}

#[tokio::test]
async fn a_collector_that_is_down_slows_nothing() {
    let upstream = Recording::start().await;
    let down = format!("http://{}", support::refused_addr());
    let mesh = sidecar(upstream.addr, 100.0, Some(down)).await;
    let started = Instant::now();
    for _ in 0..200 {
        assert_eq!(get(&mesh, &[]).await, 200);
        // Past the first export (every second), so that failures happen meanwhile.
        if started.elapsed() < Duration::from_millis(1200) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(upstream.count(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
