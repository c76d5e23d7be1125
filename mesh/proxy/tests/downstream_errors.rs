//! Failures the caller causes are the caller's, over real sockets: a malformed request body, a
//! caller that hangs up halfway through its body, a caller too slow to send it. Each is answered
//! as Envoy answers it (400 `DPE`; `DC`; 408), is never retried, and never counts against the
//! endpoint: with `outlierDetection` at `consecutive5xxErrors: 3`, more such requests than that
//! leave the endpoint in, and a normal request afterwards still reaches it.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use support::{App, InboundProxy, Mesh, ratings_dr, ratings_vs, scenario, stat};

const RATINGS: &str = "http://ratings:9080/ratings/0";

/// More bad requests than the `consecutive5xxErrors` threshold below.
const BAD_REQUESTS: usize = 5;

/// A chunked body whose first chunk size is not hexadecimal.
fn malformed_chunked(path: &str, host: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n\
         ZZZ\r\nhello\r\n0\r\n\r\n"
    )
    .into_bytes()
}

/// An upstream that reads each request's body to the end before answering 200, and counts
/// the requests that reached it (whether or not their body arrived whole).
struct BodyReader {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl BodyReader {
    async fn start() -> BodyReader {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = Router::new().fallback(move |request: axum::extract::Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match request.into_body().collect().await {
                    Ok(body) => (StatusCode::OK, format!("read {}", body.to_bytes().len())),
                    Err(_) => (StatusCode::BAD_REQUEST, "broken body".to_owned()),
                }
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        BodyReader { addr, hits, task }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Outlier detection that ejects after 3 failures in a row, for 60 s.
fn strict_outlier_detection() -> String {
    ratings_dr(
        "    outlierDetection:
      consecutive5xxErrors: 3
      interval: 1s
      baseEjectionTime: 60s
      maxEjectionPercent: 100",
    )
}

/// Status and `x-sailkit-flags` of one response read from a raw connection.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    flags: String,
}

/// Read one HTTP/1.1 response (head and `Content-Length` body) from `stream`.
async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer within 10 s")
            .expect("read");
        assert!(read > 0, "connection closed before an answer: {received:?}");
        received.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line: {head}"));
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let flags = header("x-sailkit-flags").unwrap_or_default();
    Answer { status, flags }
}

/// Send `bytes` on a new connection to `addr` and read the answer.
async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    read_answer(&mut stream).await
}

/// Wait until `upstream` has seen `hits` requests (at most 10 s).
async fn until_hits(upstream: &BodyReader, hits: usize) {
    for _ in 0..200 {
        if upstream.hits() >= hits {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the upstream saw {} requests, not {hits}", upstream.hits());
}

#[tokio::test]
async fn a_malformed_chunked_body_is_400_dpe_is_not_retried_and_ejects_nobody() {
    let ratings = BodyReader::start().await;
    // No `retries` in the rule: Istio's default of 2 retries on a 503 applies.
    let mesh = Mesh::start(
        &[("ratings", vec![(ratings.addr, "v1")])],
        &[("dr.yaml", strict_outlier_detection())],
    )
    .await;

    for _ in 0..BAD_REQUESTS {
        let mut stream = TcpStream::connect(mesh.outbound).await.expect("connect");
        let request = malformed_chunked(RATINGS, "ratings:9080");
        stream.write_all(&request).await.expect("write");
        let answer = read_answer(&mut stream).await;
        assert_eq!(
            answer,
            Answer {
                status: 400,
                flags: "DPE".to_owned()
            }
        );
        // Then the proxy closes the connection, as Envoy does after a protocol error.
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .expect("closed within 10 s");
        assert!(closed.is_err() || rest.is_empty(), "{rest:?}");
    }
    assert!(
        ratings.hits() <= BAD_REQUESTS,
        "at most one attempt per bad request, not retried: {}",
        ratings.hits()
    );

    let (status, flags, body) = mesh.get(RATINGS, None).await;
    assert_eq!((status, flags.as_str()), (200, ""), "{body}");
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "outlier_ejections_total"), 0, "{stats}");
    assert_eq!(stat(&stats, "flag_DPE"), BAD_REQUESTS as u64, "{stats}");
    assert_eq!(stat(&stats, "flag_UC"), 0, "{stats}");
    assert_eq!(stat(&stats, "retries"), 0, "{stats}");
}

#[tokio::test]
async fn a_caller_that_resets_halfway_through_its_body_is_dc_and_ejects_nobody() {
    let ratings = BodyReader::start().await;
    let mesh = Mesh::start(
        &[("ratings", vec![(ratings.addr, "v1")])],
        &[("dr.yaml", strict_outlier_detection())],
    )
    .await;

    for sent in 1..=BAD_REQUESTS {
        // Larger than the proxy buffers: the body streams to the upstream as it arrives.
        let mut stream = TcpStream::connect(mesh.outbound).await.expect("connect");
        let head = format!(
            "POST {RATINGS} HTTP/1.1\r\nHost: ratings:9080\r\nContent-Length: 1000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(&[b'x'; 1000]).await.expect("write");
        // The upstream has the request and is reading its body: now the caller resets.
        until_hits(&ratings, sent).await;
        stream
            .set_zero_linger()
            .expect("linger 0: close with a reset");
        drop(stream);
    }
    // A small body is read whole before any upstream is chosen: cut off, it is `DC` too, not
    // a protocol error.
    const SMALL_ONES: usize = 2;
    for _ in 0..SMALL_ONES {
        let mut stream = TcpStream::connect(mesh.outbound).await.expect("connect");
        let head =
            format!("POST {RATINGS} HTTP/1.1\r\nHost: ratings:9080\r\nContent-Length: 100\r\n\r\n");
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(&[b'x'; 10]).await.expect("write");
        // Give the proxy the time to start reading the body (a reset before it read the
        // head would be no request at all).
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream
            .set_zero_linger()
            .expect("linger 0: close with a reset");
        drop(stream);
    }
    let all = (BAD_REQUESTS + SMALL_ONES) as u64;
    let stats = mesh
        .wait_for("/stats", |_, stats| stat(stats, "flag_DC") >= all)
        .await;
    assert_eq!(stat(&stats, "flag_DPE"), 0, "{stats}");
    assert_eq!(stat(&stats, "flag_UC"), 0, "{stats}");
    assert_eq!(stat(&stats, "retries"), 0, "{stats}");
    assert_eq!(ratings.hits(), BAD_REQUESTS, "not retried");

    let (status, flags, body) = mesh.get(RATINGS, None).await;
    assert_eq!((status, flags.as_str()), (200, ""), "{body}");
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "outlier_ejections_total"), 0, "{stats}");
}

#[tokio::test]
async fn a_caller_too_slow_to_send_its_body_is_408_and_ejects_nobody() {
    let ratings = BodyReader::start().await;
    let mesh = Mesh::start(
        &[("ratings", vec![(ratings.addr, "v1")])],
        &[
            ("vs.yaml", ratings_vs("      timeout: 300ms")),
            ("dr.yaml", strict_outlier_detection()),
        ],
    )
    .await;

    for _ in 0..BAD_REQUESTS {
        // Half the body, then nothing: the route's deadline passes while the proxy waits for
        // the caller, not for the upstream.
        let mut stream = TcpStream::connect(mesh.outbound).await.expect("connect");
        let head = format!(
            "POST {RATINGS} HTTP/1.1\r\nHost: ratings:9080\r\nContent-Length: 1000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(&[b'x'; 1000]).await.expect("write");
        let answer = read_answer(&mut stream).await;
        assert_eq!(
            answer,
            Answer {
                status: 408,
                flags: String::new()
            }
        );
    }

    let (status, flags, body) = mesh.get(RATINGS, None).await;
    assert_eq!((status, flags.as_str()), (200, ""), "{body}");
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "outlier_ejections_total"), 0, "{stats}");
    assert_eq!(stat(&stats, "flag_UT"), 0, "{stats}");
}

#[tokio::test]
async fn through_the_gateway_a_malformed_body_cannot_eject_productpage() {
    let productpage = BodyReader::start().await;
    let dr = "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: productpage
spec:
  host: productpage
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 3
      baseEjectionTime: 60s
      maxEjectionPercent: 100
";
    let mesh = Mesh::start_gateway(
        "bookinfo-gateway",
        8080,
        &[("productpage", vec![(productpage.addr, "v1")])],
        &[
            ("bookinfo-gateway.yaml", scenario("bookinfo-gateway.yaml")),
            ("dr.yaml", dr.to_owned()),
        ],
    )
    .await;

    for _ in 0..BAD_REQUESTS {
        let answer = send_raw(mesh.outbound, &malformed_chunked("/productpage", "x")).await;
        assert_eq!((answer.status, answer.flags.as_str()), (400, "DPE"));
    }
    let page = mesh
        .direct
        .get(format!("http://{}/productpage", mesh.outbound))
        .send()
        .await
        .expect("request to the gateway");
    assert_eq!(page.status().as_u16(), 200, "productpage is still in");
}

#[tokio::test]
async fn inbound_a_malformed_body_is_the_callers_error_not_the_applications() {
    let app = BodyReader::start().await;
    let proxy = InboundProxy::start(App::At(app.addr)).await;
    let answer = send_raw(proxy.inbound, &malformed_chunked("/ratings/0", "ratings")).await;
    assert_eq!((answer.status, answer.flags.as_str()), (400, "DPE"));
}

/// An h2c upstream that reads each request's body to its end (or its reset) and answers 200;
/// it counts the requests that reached it.
async fn h2_body_reader() -> (SocketAddr, Arc<AtomicUsize>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(stream).await else {
                    return;
                };
                while let Some(Ok((request, mut respond))) = connection.accept().await {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        let mut body = request.into_body();
                        while let Some(chunk) = body.data().await {
                            let Ok(chunk) = chunk else { return };
                            let _ = body.flow_control().release_capacity(chunk.len());
                        }
                        let response = http::Response::new(());
                        let _ = respond.send_response(response, true);
                    });
                }
            });
        }
    });
    (addr, hits, task)
}

/// Over HTTP/2 a caller that gives up resets its stream: the request ends there (hyper drops
/// it, and the access log's `InFlight` writes `DC`), so the attempt in flight is not counted.
#[tokio::test]
async fn an_http2_caller_that_resets_its_stream_halfway_is_dc_and_ejects_nobody() {
    let (addr, hits, task) = h2_body_reader().await;
    let mesh = Mesh::start(
        &[("ratings", vec![(addr, "v1")])],
        &[("dr.yaml", strict_outlier_detection())],
    )
    .await;
    let stream = TcpStream::connect(mesh.outbound).await.expect("connect");
    let (client, connection) = h2::client::handshake(stream).await.expect("h2c handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let post = || http::Request::post(RATINGS).body(()).expect("request");

    for sent in 1..=BAD_REQUESTS {
        let (_response, mut body) = client.send_request(post(), false).expect("send");
        body.send_data(bytes::Bytes::from_static(&[b'x'; 1000]), false)
            .expect("data");
        for _ in 0..200 {
            if hits.load(Ordering::SeqCst) >= sent {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            sent,
            "the upstream has the request"
        );
        body.send_reset(h2::Reason::CANCEL);
        client = client.ready().await.expect("ready");
    }
    let stats = mesh
        .wait_for("/stats", |_, stats| {
            stat(stats, "flag_DC") >= BAD_REQUESTS as u64
        })
        .await;
    assert_eq!(stat(&stats, "flag_UC"), 0, "{stats}");

    // The same connection, a whole request: the endpoint is still in.
    let (response, _) = client.send_request(post(), true).expect("send");
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("an answer within 10 s")
        .expect("response");
    assert_eq!(response.status(), 200);
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "outlier_ejections_total"), 0, "{stats}");
    task.abort();
}
