//! `common::server` over real sockets, with short limits: a router served the way every
//! service is closes half-sent and idle connections in time, answers 503 past its cap and lets a
//! request through once a slot frees, and still tells handlers who is calling.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use common::Shutdown;
use common::server::{self, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

const HEAD: Duration = Duration::from_millis(300);
const IDLE: Duration = Duration::from_millis(800);

/// A router that answers `GET /who` with the caller's address, served with `limits`.
async fn start(limits: Limits) -> (SocketAddr, tokio_util::sync::DropGuard) {
    let app = Router::new().route(
        "/who",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("address");
    let shutdown = Shutdown::new();
    tokio::spawn(server::serve_with(tcp, app, limits, shutdown.clone()));
    (addr, shutdown.drop_guard())
}

fn short(max_connections: u32) -> Limits {
    Limits {
        head_timeout: HEAD,
        idle_timeout: IDLE,
        max_connections,
    }
}

/// Sends a `GET /who` and reads the whole answer (its body is short: one read after the head).
async fn who(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /who HTTP/1.1\r\nHost: svc\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("127.0.0.1:") {
        let read = timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = Vec::new();
    timeout(within, stream.read_to_end(&mut sink))
        .await
        .ok()
        .map(|_| started.elapsed())
}

#[tokio::test]
async fn half_a_request_line_is_closed_after_the_head_timeout() {
    let (addr, _server) = start(short(100)).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(b"GET /wh").await.expect("write");
    let took = closed_after(&mut client, Duration::from_secs(5))
        .await
        .expect("a half-sent request line is closed");
    assert!(
        took >= HEAD - Duration::from_millis(50),
        "too early: {took:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (addr, _server) = start(short(100)).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    let answer = who(&mut client).await;
    // The handler still learns who calls (banner's limit on wrong passwords needs it).
    let me = client.local_addr().expect("address").to_string();
    assert!(answer.ends_with(&me), "{answer}");
    let took = closed_after(&mut client, Duration::from_secs(5))
        .await
        .expect("an idle connection is closed");
    assert!(
        took >= IDLE - Duration::from_millis(100),
        "too early: {took:?}"
    );
}

#[tokio::test]
async fn past_the_cap_a_client_gets_503_and_a_freed_slot_lets_a_request_through() {
    let (addr, _server) = start(short(1)).await;
    let mut held = TcpStream::connect(addr).await.expect("connect");
    who(&mut held).await;
    let mut second = TcpStream::connect(addr).await.expect("connect");
    let mut refusal = String::new();
    timeout(Duration::from_secs(5), second.read_to_string(&mut refusal))
        .await
        .expect("refused at once")
        .expect("read");
    assert!(refusal.starts_with("HTTP/1.1 503 "), "{refusal}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = TcpStream::connect(addr).await.expect("connect");
        next.write_all(b"GET /who HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        let _ = timeout(Duration::from_secs(2), next.read_to_string(&mut answer)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never let in: {answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
