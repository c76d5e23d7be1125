//! A trace's access log lines: with `--access-logs DIR`, `/traces/{id}` shows the lines of the
//! proxies' `*.log` files that name the trace, each with its hop, in time order; lines of other
//! traces, bytes that are not UTF-8 and files that cannot be read do not get in the way.
//! Without the folder, the page says how to find them.

mod support;

use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use sailkit_dashboard::{Config, MetricsSource, start};

use support::{attribute_values, get as http_get};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const OTHER: &str = "0af7651916cd43dd8448eb211c80319c";

/// A line as a proxy writes it, for the trace `trace` at second `second` past 10:00.
fn line(second: u32, path: &str, request_id: &str, trace: &str) -> String {
    format!(
        "[2026-11-26T10:00:{second:02}.000Z] \"GET {path} HTTP/1.1\" 200 - 0 295 3 \
         \"127.0.0.1:9102\" \"default\" \"{request_id}\" \"{trace}\"\n"
    )
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Sends one span of `trace` so that `/traces/{trace}` exists.
async fn send_span(otlp: std::net::SocketAddr, trace: &str) {
    let mut client = TraceServiceClient::connect(format!("http://{otlp}"))
        .await
        .expect("the receiver listens");
    let span = Span {
        trace_id: hex_to_bytes(trace),
        span_id: vec![1; 8],
        name: "GET /productpage".into(),
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_100_000_000,
        ..Span::default()
    };
    client
        .export(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        })
        .await
        .expect("the receiver takes the span");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write a log file");
}

#[tokio::test]
async fn a_trace_page_shows_its_hops_access_log_lines_in_time_order() {
    let logs = tempfile::tempdir().expect("a temporary folder");
    let dir = logs.path();
    write(
        dir,
        "istio-ingressgateway.log",
        line(1, "/productpage", "r1", TRACE).as_bytes(),
    );
    // The sidecar's file holds its own log lines, another trace's and a line that is not UTF-8.
    let mut sidecar = b"2026-11-26T10:00:00Z INFO sailkit proxy ready\n".to_vec();
    sidecar.extend(line(3, "/reviews/0", "r1", TRACE).as_bytes());
    sidecar.extend(line(2, "/reviews/0", "r9", OTHER).as_bytes());
    sidecar.extend(b"[2026-11-26T10:00:04.000Z] \"GET /\xff\xfe HTTP/1.1\" 404 - \"r1\" \"");
    sidecar.extend(TRACE.as_bytes());
    sidecar.extend(b"\"\n");
    write(dir, "reviews-v2-sidecar.log", &sidecar);
    write(
        dir,
        "productpage-v1-sidecar.log",
        line(2, "/productpage", "r1", TRACE).as_bytes(),
    );
    // Not a log file, and a "file" that cannot be read.
    write(dir, "notes.txt", line(0, "/", "r1", TRACE).as_bytes());
    std::fs::create_dir(dir.join("broken.log")).expect("a folder");

    let mut config = Config::local(MetricsSource::scrape(vec![]));
    config.access_logs = Some(dir.to_path_buf());
    let dashboard = start(config).await.expect("starts");
    send_span(dashboard.otlp_addr, TRACE).await;
    send_span(dashboard.otlp_addr, OTHER).await;

    let (status, page) = http_get(dashboard.http_addr, &format!("/traces/{TRACE}")).await;
    assert_eq!(status, 200, "{page}");
    let section = page
        .split(r#"<div id="access-log" data-configured="true">"#)
        .nth(1)
        .unwrap_or_else(|| panic!("no access log section: {page}"));
    let rows: Vec<&str> = section.split(r#"<tr class="log-line""#).skip(1).collect();
    assert_eq!(
        attribute_values(section, "data-hop"),
        [
            "istio-ingressgateway",
            "productpage-v1-sidecar",
            "reviews-v2-sidecar",
            "reviews-v2-sidecar"
        ],
        "{section}"
    );
    assert!(rows[0].contains("GET /productpage"), "{}", rows[0]);
    assert!(rows[2].contains("GET /reviews/0"), "{}", rows[2]);
    assert!(rows[3].contains("GET /\u{fffd}\u{fffd}"), "{}", rows[3]);
    assert!(!section.contains(OTHER), "{section}");
    assert!(!section.contains("proxy ready"), "{section}");
    assert!(
        section.contains("broken.log"),
        "the unreadable file is named: {section}"
    );

    // The other trace has its own line only.
    let (_, page) = http_get(dashboard.http_addr, &format!("/traces/{OTHER}")).await;
    assert_eq!(attribute_values(&page, "data-hop"), ["reviews-v2-sidecar"]);
    dashboard.stop().await;
}

#[tokio::test]
async fn without_a_log_folder_the_page_says_how_to_find_the_lines() {
    let dashboard = start(Config::local(MetricsSource::scrape(vec![])))
        .await
        .expect("starts");
    send_span(dashboard.otlp_addr, TRACE).await;
    let (status, page) = http_get(dashboard.http_addr, &format!("/traces/{TRACE}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"data-configured="false""#), "{page}");
    assert!(
        page.contains(&format!("docker compose logs | grep {TRACE}")),
        "{page}"
    );
    assert!(page.contains("-c sailkit-proxy"), "{page}");
    dashboard.stop().await;
}
