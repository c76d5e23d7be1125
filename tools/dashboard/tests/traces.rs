//! Traces end to end: spans sent over real OTLP gRPC (the tonic client of opentelemetry-proto)
//! show on `/traces` and `/traces/{id}`, in parent/child order with durations and error marks;
//! the store's caps hold.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use sailkit_dashboard::{Caps, Config, MetricsSource, start};

use support::{attribute_values, get as http_get};

/// One second after the epoch, in nanoseconds: every span starts from there.
const T0: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

fn trace_id(n: u8) -> Vec<u8> {
    let mut id = vec![0xab; 16];
    id[15] = n;
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct SpanSpec<'a> {
    id: u8,
    parent: Option<u8>,
    name: &'a str,
    start_ms: u64,
    end_ms: u64,
    error: bool,
    attributes: Vec<KeyValue>,
}

fn span(trace: u8, spec: SpanSpec<'_>) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: vec![0, 0, 0, 0, 0, 0, trace, spec.id],
        parent_span_id: spec
            .parent
            .map(|p| vec![0, 0, 0, 0, 0, 0, trace, p])
            .unwrap_or_default(),
        name: spec.name.into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: T0 + spec.start_ms * MS,
        end_time_unix_nano: T0 + spec.end_ms * MS,
        attributes: spec.attributes,
        status: spec.error.then(|| Status {
            message: "upstream connect error".into(),
            code: status::StatusCode::Error as i32,
        }),
        ..Span::default()
    }
}

fn from_service(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![attribute("service.name", service)],
            ..Resource::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..ScopeSpans::default()
        }],
        ..ResourceSpans::default()
    }
}

/// Trace 1: productpage → reviews (fails, UF 503) → ratings; spans sent out of order, by
/// two services in one request.
fn failing_trace() -> Vec<ResourceSpans> {
    let leaf = |id, parent, name, start_ms, end_ms| SpanSpec {
        id,
        parent: Some(parent),
        name,
        start_ms,
        end_ms,
        error: false,
        attributes: vec![],
    };
    vec![
        from_service(
            "reviews.default",
            vec![
                span(1, leaf(3, 2, "GET /ratings/0", 20, 50)),
                span(
                    1,
                    SpanSpec {
                        id: 2,
                        parent: Some(1),
                        name: "reviews.default.svc.cluster.local:9080/*",
                        start_ms: 10,
                        end_ms: 60,
                        error: true,
                        attributes: vec![
                            attribute("response_flags", "UF"),
                            attribute("http.status_code", "503"),
                        ],
                    },
                ),
            ],
        ),
        from_service(
            "productpage.default",
            vec![span(
                1,
                SpanSpec {
                    id: 1,
                    parent: None,
                    name: "GET /productpage",
                    start_ms: 0,
                    end_ms: 100,
                    error: false,
                    attributes: vec![attribute("http.status_code", "200")],
                },
            )],
        ),
    ]
}

fn ok_trace(n: u8, spans: u8) -> Vec<ResourceSpans> {
    let list = (1..=spans)
        .map(|id| {
            span(
                n,
                SpanSpec {
                    id,
                    parent: (id > 1).then_some(1),
                    name: "GET /details/0",
                    start_ms: u64::from(id),
                    end_ms: 30,
                    error: false,
                    attributes: vec![],
                },
            )
        })
        .collect();
    vec![from_service("details", list)]
}

async fn send(
    client: &mut TraceServiceClient<tonic::transport::Channel>,
    spans: Vec<ResourceSpans>,
) {
    client
        .export(ExportTraceServiceRequest {
            resource_spans: spans,
        })
        .await
        .expect("the receiver takes the spans");
}

#[tokio::test]
async fn traces_arrive_over_otlp_and_show_as_a_waterfall() {
    let dashboard = start(Config::local(MetricsSource::scrape(vec![])))
        .await
        .unwrap();
    let http = dashboard.http_addr;
    let mut client = TraceServiceClient::connect(format!("http://{}", dashboard.otlp_addr))
        .await
        .unwrap();
    send(&mut client, failing_trace()).await;
    send(&mut client, ok_trace(2, 2)).await;
    let failing = hex(&trace_id(1));
    let ok = hex(&trace_id(2));

    let (status, page) = http_get(http, "/traces").await;
    assert_eq!(status, 200);
    // Newest first; the failing trace is marked, and named by its root.
    assert_eq!(
        attribute_values(&page, "data-trace-id"),
        [ok.clone(), failing.clone()]
    );
    assert_eq!(attribute_values(&page, "data-error"), ["false", "true"]);
    assert!(
        page.contains(r#"<td class="root-service">productpage.default</td>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<td class="number duration">100.0 ms</td>"#),
        "{page}"
    );
    assert!(page.contains(r#"<td class="number span-count">3</td>"#));

    for (query, expected) in [
        ("?error=1", vec![failing.clone()]),
        ("?service=reviews", vec![failing.clone()]),
        ("?service=details", vec![ok.clone()]),
        (
            &format!("?id={}", &ok[..8])[..],
            vec![ok.clone(), failing.clone()],
        ),
        (&format!("?id={ok}")[..], vec![ok.clone()]),
        (
            "?from=productpage-v1&to=reviews-v2&error=1",
            vec![failing.clone()],
        ),
        ("?from=productpage-v1&to=details-v1", vec![]),
    ] {
        let (status, page) = http_get(http, &format!("/traces{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(
            attribute_values(&page, "data-trace-id"),
            expected,
            "{query}"
        );
    }
    let (_, page) = http_get(http, "/traces?service=ratings").await;
    assert!(page.contains("No trace matches these filters"), "{page}");

    let (status, page) = http_get(http, &format!("/traces/{failing}")).await;
    assert_eq!(status, 200, "{page}");
    // Parent, child, grandchild, whatever order they arrived in, indented by depth.
    let span_ids = attribute_values(&page, "data-span-id");
    assert_eq!(
        span_ids,
        ["0000000000000101", "0000000000000102", "0000000000000103"]
    );
    assert_eq!(attribute_values(&page, "data-depth"), ["0", "1", "2"]);
    assert_eq!(
        attribute_values(&page, "data-parent-span-id"),
        ["", "0000000000000101", "0000000000000102"]
    );
    assert!(
        page.contains(r#"<td class="number duration">50.00 ms</td>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<tr class="span error" data-span-id="0000000000000102""#),
        "{page}"
    );
    assert!(page.contains("error: upstream connect error"));
    assert!(
        page.contains(
            r#"<span class="attribute" data-key="response_flags">response_flags=UF</span>"#
        ),
        "{page}"
    );
    assert!(page.contains("left: 10.00%; width: 50.00%"), "{page}");
    assert!(page.contains(r#"data-error="true""#));

    dashboard.stop().await;
}

#[tokio::test]
async fn the_store_keeps_to_its_caps() {
    let mut config = Config::local(MetricsSource::scrape(vec![]));
    config.trace_caps = Caps {
        max_traces: 3,
        max_spans_per_trace: 2,
    };
    let dashboard = start(config).await.unwrap();
    let http = dashboard.http_addr;
    let mut client = TraceServiceClient::connect(format!("http://{}", dashboard.otlp_addr))
        .await
        .unwrap();
    for n in 1..=5 {
        send(&mut client, ok_trace(n, if n == 5 { 4 } else { 1 })).await;
    }
    let (_, page) = http_get(http, "/traces").await;
    let kept: Vec<String> = [5, 4, 3].iter().map(|n| hex(&trace_id(*n))).collect();
    assert_eq!(attribute_values(&page, "data-trace-id"), kept);
    assert!(
        page.contains(
            "3 traces (at most 3, of at most 2 spans each; the oldest go first: 2 dropped so far)"
        ),
        "{page}"
    );
    let (status, _) = http_get(http, &format!("/traces/{}", hex(&trace_id(1)))).await;
    assert_eq!(status, 404);
    let (_, page) = http_get(http, &format!("/traces/{}", kept[0])).await;
    assert_eq!(attribute_values(&page, "data-span-id").len(), 2);
    assert!(
        page.contains("2 more spans of this trace arrived after it was full"),
        "{page}"
    );
}

#[tokio::test]
async fn malformed_spans_are_left_out() {
    let dashboard = start(Config::local(MetricsSource::scrape(vec![])))
        .await
        .unwrap();
    let mut client = TraceServiceClient::connect(format!("http://{}", dashboard.otlp_addr))
        .await
        .unwrap();
    let mut bad = span(
        9,
        SpanSpec {
            id: 1,
            parent: None,
            name: "bad",
            start_ms: 0,
            end_ms: 1,
            error: false,
            attributes: vec![],
        },
    );
    bad.trace_id = vec![1, 2, 3];
    send(&mut client, vec![from_service("x", vec![bad])]).await;
    let (_, page) = http_get(dashboard.http_addr, "/traces").await;
    assert!(page.contains("No traces yet"), "{page}");
}
