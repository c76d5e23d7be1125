//! The service VIP over real sockets: fake instances served by `testkit::serve`, the proxy on
//! `127.0.0.1:0`, and a pooled keep-alive client in front, as productpage calls its peers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sailkit::service_proxy::{self, Endpoint, Limits, ServiceProxy};
use serde_json::{Value, json};
use testkit::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A VIP served in the background; dropping it stops it.
struct Vip {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl Vip {
    async fn start(service: &str, endpoints: Vec<Arc<Endpoint>>) -> Self {
        Self::start_with(service, endpoints, Limits::default()).await
    }

    async fn start_with(service: &str, endpoints: Vec<Arc<Endpoint>>, limits: Limits) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let proxy = ServiceProxy::new(service, endpoints);
        tokio::spawn(service_proxy::serve_with(
            listener,
            proxy,
            limits,
            stop.clone(),
        ));
        Self { addr, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Vip {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A fake instance that says its name on `GET /who`.
async fn instance(name: &'static str) -> TestServer {
    testkit::serve(Router::new().route("/who", get(move || async move { name }))).await
}

fn ready(name: &str, server: &TestServer) -> Arc<Endpoint> {
    let endpoint = Endpoint::new(name, server.addr);
    endpoint.set_ready(true);
    endpoint
}

/// An address where nothing listens (bound, then released).
async fn dead_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// One pooled client, so every request below may reuse the same connection to the VIP.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn get_text(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.expect("the VIP answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn requests_take_turns_over_the_instances_even_on_one_connection() {
    let (a, b, c) = (
        instance("a").await,
        instance("b").await,
        instance("c").await,
    );
    let vip = Vip::start(
        "reviews",
        vec![ready("a", &a), ready("b", &b), ready("c", &c)],
    )
    .await;
    let client = client();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let (status, body) = get_text(&client, &vip.url("/who")).await;
        assert_eq!(status, 200);
        seen.push(body);
    }
    assert_eq!(seen, ["a", "b", "c", "a", "b", "c"]);
}

#[tokio::test]
async fn instances_that_are_not_ready_get_nothing() {
    let (a, b) = (instance("a").await, instance("b").await);
    let not_ready = Endpoint::new("b", b.addr);
    let vip = Vip::start("reviews", vec![ready("a", &a), not_ready.clone()]).await;
    let client = client();
    for _ in 0..4 {
        assert_eq!(get_text(&client, &vip.url("/who")).await, (200, "a".into()));
    }
    // Ready again (say, restarted): back in the rotation.
    not_ready.set_ready(true);
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(get_text(&client, &vip.url("/who")).await.1);
    }
    seen.sort();
    assert_eq!(seen, ["a", "b"]);
}

#[tokio::test]
async fn no_ready_instance_is_a_json_503_naming_the_service() {
    let a = instance("a").await;
    let vip = Vip::start("reviews", vec![Endpoint::new("a", a.addr)]).await;
    let response = client().get(vip.url("/who")).send().await.expect("answers");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "errors are JSON"
    );
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"error": "no instance of reviews is available"})
    );
}

#[tokio::test]
async fn an_instance_that_refuses_connections_is_skipped() {
    let live = instance("live").await;
    let dead = Endpoint::new("dead", dead_address().await);
    dead.set_ready(true); // the launcher has not noticed yet
    let vip = Vip::start("ratings", vec![dead, ready("live", &live)]).await;
    let client = client();
    for _ in 0..4 {
        assert_eq!(
            get_text(&client, &vip.url("/who")).await,
            (200, "live".into())
        );
    }
}

#[tokio::test]
async fn a_single_unreachable_instance_is_a_json_502() {
    let dead = Endpoint::new("details-v1", dead_address().await);
    dead.set_ready(true);
    let vip = Vip::start("details", vec![dead]).await;
    let response = client()
        .get(vip.url("/details/0"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.expect("JSON");
    let message = body["error"].as_str().expect("an error message");
    assert!(message.contains("details"), "names the service: {message}");
    // Which instance, where and why is for the log, not for the client.
    assert!(!message.contains("details-v1"), "{message}");
    assert!(!message.contains("127.0.0.1"), "{message}");
}

#[tokio::test]
async fn the_request_arrives_as_sent_minus_hop_by_hop_headers() {
    let echo = testkit::serve(Router::new().route(
        "/echo/{*rest}",
        get(|headers: HeaderMap, uri: axum::http::Uri| async move {
            let headers: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("?"))))
                .collect();
            axum::Json(json!({"uri": uri.to_string(), "headers": headers}))
        }),
    ))
    .await;
    let vip = Vip::start("details", vec![ready("echo", &echo)]).await;
    let response = client()
        .get(vip.url("/echo/a/b?x=1&y=%20"))
        .header("x-request-id", "abc")
        .header("end-user", "jason")
        .header("connection", "x-secret")
        .header("x-secret", "for the next hop only")
        .header("keep-alive", "timeout=5")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.expect("JSON");
    assert_eq!(seen["uri"], "/echo/a/b?x=1&y=%20");
    let headers = &seen["headers"];
    assert_eq!(headers["x-request-id"], "abc");
    assert_eq!(headers["end-user"], "jason");
    assert_eq!(headers["host"], vip.addr.to_string(), "the client's Host");
    for removed in ["connection", "x-secret", "keep-alive", "x-forwarded-for"] {
        assert!(
            headers.get(removed).is_none(),
            "{removed} reached the instance"
        );
    }
}

/// Request and response bodies flow through at the same time, chunk by chunk: the client sends
/// a chunk only after it received the echo of the previous one. A proxy that buffered either
/// body would wait forever here (and the test would fail on its timeout).
#[tokio::test]
async fn bodies_are_streamed_both_ways() {
    let echo = testkit::serve(Router::new().route(
        "/echo",
        post(|body: Body| async move { Body::from_stream(body.into_data_stream()) }),
    ))
    .await;
    let vip = Vip::start("banner", vec![ready("echo", &echo)]).await;

    let (chunks, rx) = mpsc::channel::<Bytes>(1);
    let body = StreamBody::new(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), rx))
    })));
    let client = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::post(vip.url("/echo"))
        .body(body)
        .expect("request");

    let exchange = async {
        chunks.send(Bytes::from("ping 0;")).await.expect("send");
        let response = client.request(request).await.expect("response headers");
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let mut echoed = Vec::new();
        for i in 1..=5 {
            // Wait for the echo of what was sent so far before sending more.
            let wanted = (0..i).map(|n| format!("ping {n};")).collect::<String>();
            while echoed.len() < wanted.len() {
                let frame = body.frame().await.expect("more body").expect("a frame");
                if let Ok(data) = frame.into_data() {
                    echoed.extend_from_slice(&data);
                }
            }
            assert_eq!(String::from_utf8_lossy(&echoed), wanted);
            if i < 5 {
                chunks
                    .send(Bytes::from(format!("ping {i};")))
                    .await
                    .expect("send");
            }
        }
        drop(chunks);
        // The end of the request body ends the echo.
        while let Some(frame) = body.frame().await {
            frame.expect("clean end");
        }
        echoed
    };
    let echoed = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("bodies flowed both ways without buffering");
    assert_eq!(
        String::from_utf8_lossy(&echoed),
        "ping 0;ping 1;ping 2;ping 3;ping 4;"
    );
}

#[tokio::test]
async fn a_large_body_arrives_whole() {
    let echo =
        testkit::serve(Router::new().route("/echo", post(|body: Bytes| async move { body }))).await;
    let vip = Vip::start("banner", vec![ready("echo", &echo)]).await;
    let sent: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let response = client()
        .post(vip.url("/echo"))
        .body(sent.clone())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.expect("body").as_ref(), &sent[..]);
}

/// A client's broken body is the client's fault: 400, no instance blamed, and nothing internal
/// (instance name, address, parser error) in the answer.
#[tokio::test]
async fn a_malformed_request_body_is_a_400_that_names_nothing_internal() {
    let echo =
        testkit::serve(Router::new().route("/echo", post(|body: Bytes| async move { body }))).await;
    let vip = Vip::start("productpage", vec![ready("productpage-v1", &echo)]).await;
    let mut client = TcpStream::connect(vip.addr).await.expect("connect");
    client
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              ZZZ\r\nhello\r\n0\r\n\r\n",
        )
        .await
        .expect("write");
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    for internal in [
        "productpage-v1",
        &echo.addr.to_string(),
        "127.0.0.1",
        "chunk",
    ] {
        assert!(!answer.contains(internal), "{internal:?} in {answer}");
    }
    // The instance is fine, and the VIP still answers.
    assert_eq!(
        client_post(&vip.url("/echo"), "hello").await,
        (200, "hello".into())
    );
}

async fn client_post(url: &str, body: &'static str) -> (u16, String) {
    let response = client().post(url).body(body).send().await.expect("answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Short limits, so the tests below stay fast.
fn short(max_connections: u32) -> Limits {
    Limits {
        head_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(800),
        max_connections,
    }
}

/// Reads until the VIP closes the connection; how long that took, or `None` past 5 s.
async fn closed_after(stream: &mut TcpStream) -> Option<Duration> {
    let started = tokio::time::Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink))
        .await
        .ok()
        .map(|_| started.elapsed())
}

/// One `GET /who` on `stream`, kept alive; the answer's text.
async fn who(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /who HTTP/1.1\r\nHost: reviews\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\na") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn half_a_request_line_is_closed_after_the_head_timeout() {
    let a = instance("a").await;
    let vip = Vip::start_with("reviews", vec![ready("a", &a)], short(100)).await;
    let mut client = TcpStream::connect(vip.addr).await.expect("connect");
    client.write_all(b"GET /wh").await.expect("write");
    let took = closed_after(&mut client).await.expect("closed");
    assert!(took >= Duration::from_millis(250), "too early: {took:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let a = instance("a").await;
    let vip = Vip::start_with("reviews", vec![ready("a", &a)], short(100)).await;
    let mut client = TcpStream::connect(vip.addr).await.expect("connect");
    assert!(who(&mut client).await.starts_with("HTTP/1.1 200"));
    let took = closed_after(&mut client).await.expect("closed");
    assert!(took >= Duration::from_millis(700), "too early: {took:?}");
}

#[tokio::test]
async fn past_the_cap_a_client_gets_503_and_a_freed_slot_lets_a_request_through() {
    let a = instance("a").await;
    let vip = Vip::start_with("reviews", vec![ready("a", &a)], short(1)).await;
    let mut held = TcpStream::connect(vip.addr).await.expect("connect");
    who(&mut held).await;
    let mut second = TcpStream::connect(vip.addr).await.expect("connect");
    let mut refusal = String::new();
    tokio::time::timeout(Duration::from_secs(5), second.read_to_string(&mut refusal))
        .await
        .expect("refused at once")
        .expect("read");
    assert!(refusal.starts_with("HTTP/1.1 503 "), "{refusal}");
    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = TcpStream::connect(vip.addr).await.expect("connect");
        let answer = who(&mut next).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never let in: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
