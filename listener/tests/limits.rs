//! The listener over real sockets, with short limits: clients that send nothing, half a
//! request line (first or after an answer), or nothing more after an answer lose their connection in time (an HTTP/2 one
//! after the idle timeout only); over the cap a client is answered 503, and a slot freed lets
//! the next one in.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use listener::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

const SHORT: Limits = Limits {
    head_timeout: Duration::from_millis(300),
    idle_timeout: Duration::from_millis(600),
    max_connections: 2,
};

/// A server that answers `ok` to everything; dropping the token's guard stops it.
async fn start(limits: Limits) -> (SocketAddr, tokio_util::sync::DropGuard) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    tokio::spawn(listener::serve(tcp, limits, shutdown.clone(), |_peer| {
        service_fn(|_request: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        })
    }));
    (addr, shutdown.drop_guard())
}

/// Reads until the server closes the connection; the time it took, or `None` if it did not
/// close within `within`.
async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = Vec::new();
    match timeout(within, stream.read_to_end(&mut sink)).await {
        Ok(_) => Some(started.elapsed()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_head_timeout() {
    let (addr, _server) = start(SHORT).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    let took = closed_after(&mut client, Duration::from_secs(5)).await;
    let took = took.expect("the server closes a silent connection");
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn half_a_request_line_is_closed_after_the_head_timeout() {
    let (addr, _server) = start(SHORT).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(b"GET /produc").await.expect("write");
    let took = closed_after(&mut client, Duration::from_secs(5)).await;
    assert!(took.is_some(), "a half-sent request line is closed");
}

#[tokio::test]
async fn a_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_head_one() {
    let (addr, _server) = start(SHORT).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut answer = [0u8; 256];
    let read = client.read(&mut answer).await.expect("an answer");
    assert!(
        answer[..read].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &answer[..read]
    );
    // Idle after the answer: the idle timeout (600 ms) runs, not the head one (300 ms).
    let took = closed_after(&mut client, Duration::from_secs(5)).await;
    let took = took.expect("the server closes an idle keep-alive connection");
    assert!(
        took >= Duration::from_millis(500),
        "idle closed too early: {took:?}"
    );
}

#[tokio::test]
async fn half_a_second_request_is_closed_after_the_head_timeout_not_the_idle_one() {
    // A long idle timeout: only the head timeout, from the second head's first byte, can close
    // the connection within the five seconds the test waits.
    let limits = Limits {
        head_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(60),
        max_connections: 2,
    };
    let (addr, _server) = start(limits).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut answer = [0u8; 256];
    let read = client.read(&mut answer).await.expect("an answer");
    assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.write_all(b"GET /produc").await.expect("write");
    let took = closed_after(&mut client, Duration::from_secs(5)).await;
    assert!(
        took.is_some(),
        "half a second request is closed by the head timeout"
    );
}

#[tokio::test]
async fn over_the_cap_a_client_is_refused_and_a_freed_slot_lets_the_next_one_in() {
    let limits = Limits {
        head_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        max_connections: 2,
    };
    let (addr, _server) = start(limits).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(addr).await.expect("connect"));
    }
    // The third: accepted, answered 503 and closed at once.
    let mut third = TcpStream::connect(addr).await.expect("connect");
    let mut refusal = String::new();
    timeout(Duration::from_secs(5), third.read_to_string(&mut refusal))
        .await
        .expect("the refusal comes at once")
        .expect("read");
    assert!(refusal.starts_with("HTTP/1.1 503 "), "{refusal}");
    assert!(refusal.contains("connection: close"), "{refusal}");
    // A slot frees: a real request gets through.
    drop(held.pop());
    let client = get_once_in(addr).await;
    assert_eq!(client, "ok");
}

/// One plain HTTP/1.1 GET, retried while the freed slot is on its way back.
async fn get_once_in(addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        let _ = timeout(Duration::from_secs(2), stream.read_to_string(&mut answer)).await;
        if answer.starts_with("HTTP/1.1 200") {
            return answer
                .rsplit("\r\n\r\n")
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        assert!(Instant::now() < deadline, "never got in: {answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_idle_http2_connection_is_told_to_go_away_after_the_idle_timeout() {
    let (addr, _server) = start(SHORT).await;
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2c handshake");
    let connection = tokio::spawn(connection);
    let request = Request::get(format!("http://{addr}/"))
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("an answer");
    assert_eq!(response.status(), 200);
    drop(response);
    // Idle past the head timeout: pings and settings are not a head, the connection stays.
    tokio::time::sleep(SHORT.head_timeout + Duration::from_millis(100)).await;
    assert!(!connection.is_finished(), "closed on the head timeout");
    // Past the idle timeout: GOAWAY, and the connection ends.
    let ended = timeout(Duration::from_secs(5), connection).await;
    assert!(ended.is_ok(), "an idle HTTP/2 connection stays open");
}
