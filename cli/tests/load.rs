//! `sailkit load` against real servers on 127.0.0.1:0: the real binary, real sockets.
//!
//! The server below speaks HTTP/1.1 and h2c (hyper-util's "auto" server, which tells them
//! apart by the HTTP/2 preface), counts what it receives, and answers 503 to every third
//! request, like a circuit breaker that trips now and then.

mod support;

use std::net::SocketAddr;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::TcpListener;

/// What the test server saw.
#[derive(Default)]
struct Seen {
    count: AtomicU64,
    /// The last request's method, headers and body.
    last: Mutex<Option<(String, http::HeaderMap, Bytes)>>,
    versions: Mutex<Vec<Version>>,
}

struct TestServer {
    addr: SocketAddr,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn count(&self) -> u64 {
        self.seen.count.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `GET /slow` answers after 2 s; everything else at once, with "hello", 503 every third time.
async fn server() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(Seen::default());
    let shared = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(seen.clone(), request));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TestServer { addr, seen, task }
}

async fn answer(
    seen: Arc<Seen>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    if parts.uri.path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let n = seen.count.fetch_add(1, Ordering::SeqCst) + 1;
    seen.versions.lock().expect("lock").push(parts.version);
    *seen.last.lock().expect("lock") = Some((parts.method.to_string(), parts.headers, body));
    let status = if n.is_multiple_of(3) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut response = Response::new(Full::new(Bytes::from_static(b"hello")));
    *response.status_mut() = status;
    Ok(response)
}

/// Runs `sailkit load <args>` without blocking the test's runtime, where the server runs.
async fn load(args: &[&str]) -> Output {
    let mut command = tokio::process::Command::from(support::sailkit());
    command
        .arg("load")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("sailkit runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "sailkit load failed: {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&succeeded(output)).expect("--json prints one JSON document")
}

#[tokio::test]
async fn count_mode_sends_exactly_n_requests() {
    let server = server().await;
    let out = succeeded(&load(&["-c", "3", "-n", "25", &server.url("/")]).await);
    assert_eq!(server.count(), 25);
    assert!(out.contains(": 25 requests"), "{out}");
}

#[tokio::test]
async fn status_codes_are_counted_like_fortio_prints_them() {
    let server = server().await;
    let out = succeeded(&load(&["-c", "2", "--qps", "0", "-n", "30", &server.url("/")]).await);
    assert!(out.contains("Code 200 : 20 (66.7 %)"), "{out}");
    assert!(out.contains("Code 503 : 10 (33.3 %)"), "{out}");
    assert!(out.contains("p99.9"), "{out}");
    assert!(out.contains("Histogram (ms):"), "{out}");
}

#[tokio::test]
async fn method_headers_and_body_arrive() {
    let server = server().await;
    let url = server.url("/things?x=1");
    let args = [
        "-X",
        "post",
        "-H",
        "end-user: jason",
        "-H",
        "x-trace:  abc ",
        "--body",
        "{\"a\":1}",
        "-n",
        "3",
        "-c",
        "1",
        &url,
    ];
    succeeded(&load(&args).await);
    let last = server.seen.last.lock().expect("lock").take();
    let (method, headers, body) = last.expect("the server saw a request");
    assert_eq!(method, "POST");
    assert_eq!(headers["end-user"], "jason");
    assert_eq!(headers["x-trace"], "abc");
    assert_eq!(headers["host"], server.addr.to_string());
    assert_eq!(body, Bytes::from_static(b"{\"a\":1}"));
}

#[tokio::test]
async fn the_body_can_come_from_a_file() {
    let server = server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("body.json");
    std::fs::write(&path, "from a file").expect("write");
    let path = path.to_string_lossy().into_owned();
    let args = ["--body-file", &path, "-n", "1", "-c", "1", &server.url("/")];
    succeeded(&load(&args).await);
    let last = server.seen.last.lock().expect("lock").take();
    assert_eq!(
        last.expect("a request").2,
        Bytes::from_static(b"from a file")
    );
}

#[tokio::test]
async fn http2_speaks_h2c_with_several_streams_per_connection() {
    let server = server().await;
    let args = [
        "--http2",
        "-c",
        "2",
        "--streams",
        "3",
        "-n",
        "30",
        "--json",
        &server.url("/"),
    ];
    let report = json(&load(&args).await);
    assert_eq!(server.count(), 30);
    let versions = server.seen.versions.lock().expect("lock").clone();
    assert!(
        versions.iter().all(|v| *v == Version::HTTP_2),
        "{versions:?}"
    );
    assert_eq!(report["protocol"], "HTTP/2");
    assert_eq!(report["streams_per_connection"], 3);
    assert_eq!(report["status_codes"]["200"], 20);
    assert_eq!(report["status_codes"]["503"], 10);
}

#[tokio::test]
async fn a_rate_spaces_the_requests_out() {
    let server = server().await;
    let args = [
        "--qps",
        "200",
        "-n",
        "20",
        "-c",
        "4",
        "--json",
        &server.url("/"),
    ];
    let report = json(&load(&args).await);
    // 20 requests due every 5 ms: the last is due 95 ms after the first. Only a lower bound:
    // a slow machine may take longer, never shorter.
    let seconds = report["duration_s"].as_f64().expect("duration_s");
    assert!(seconds >= 0.09, "{seconds} s");
    assert_eq!(report["target_qps"], 200.0);
    assert_eq!(server.count(), 20);
}

#[tokio::test]
async fn a_duration_bounds_the_run_and_progress_goes_to_stderr() {
    let server = server().await;
    let args = [
        "-t",
        "1200ms",
        "-c",
        "2",
        "--qps",
        "50",
        "--progress",
        &server.url("/"),
    ];
    let output = load(&args).await;
    let out = succeeded(&output);
    assert!(out.starts_with("sailkit load: GET"), "{out}");
    let err = text(&output.stderr);
    assert!(err.contains(" / 1.200 s]  "), "{err}");
    assert!(err.contains("requests"), "{err}");
    // 50 per second for 1.2 s: slots at 0, 20 ms, ... 1180 ms.
    assert_eq!(server.count(), 60);
}

#[tokio::test]
async fn json_has_every_number_and_a_json_file_too() {
    let server = server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("result.json");
    let file_arg = file.to_string_lossy().into_owned();
    let args = [
        "-n",
        "12",
        "-c",
        "2",
        "--json",
        "--json-file",
        &file_arg,
        &server.url("/"),
    ];
    let output = load(&args).await;
    let report = json(&output);
    assert!(text(&output.stderr).is_empty(), "{}", text(&output.stderr));
    for field in [
        "url",
        "method",
        "protocol",
        "connections",
        "threads",
        "duration_s",
        "actual_qps",
        "errors_by_kind",
        "histogram",
    ] {
        assert!(report.get(field).is_some(), "{field} missing: {report}");
    }
    assert_eq!(report["requests"], 12);
    assert_eq!(report["answered"], 12);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["requested_count"], 12);
    assert_eq!(report["bytes_received"], 60);
    let latency = &report["latency_us"];
    for field in ["min", "avg", "p50", "p75", "p90", "p99", "p99_9", "max"] {
        assert!(
            latency[field].as_f64().is_some(),
            "{field} missing: {latency}"
        );
    }
    let counted: u64 = report["histogram"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(counted, 12);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("JSON");
    assert_eq!(saved["status_codes"], report["status_codes"]);
}

#[tokio::test]
async fn a_closed_port_is_reported_as_connect_errors() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("address").port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    let output = load(&["-n", "5", "-c", "1", &url]).await;
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("Error connect refused : 5 (100.0 %)"), "{out}");
    assert!(err.contains("no request got an answer"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = server().await;
    let args = [
        "-n",
        "2",
        "-c",
        "1",
        "--timeout",
        "100ms",
        "--json",
        &server.url("/slow"),
    ];
    let output = load(&args).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["errors_by_kind"]["timeout"], 2);
    assert!(report["latency_us"].is_null());
}

#[tokio::test]
async fn usage_errors_exit_2_and_say_what_is_wrong() {
    let cases: [(&[&str], &str); 7] = [
        (&["https://127.0.0.1/"], "TLS"),
        (&["127.0.0.1:9080/"], "no scheme"),
        (&["-H", "no-colon", "http://127.0.0.1/"], "not a header"),
        (&["-c", "0", "http://127.0.0.1/"], "--connections"),
        (
            &["-n", "5", "-t", "1s", "http://127.0.0.1/"],
            "cannot be used with",
        ),
        (&["-t", "10", "http://127.0.0.1/"], "not a duration"),
        (
            &["--body-file", "/nonexistent/body", "http://127.0.0.1/"],
            "cannot read the body file",
        ),
    ];
    for (args, expected) in cases {
        let output = load(args).await;
        let err = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in:\n{err}"
        );
    }
}
