//! Slow, idle and too many clients, on each of the proxy's listeners (outbound, inbound,
//! admin), with short limits so the tests stay fast: half a request line is closed after the
//! head timeout, an idle keep-alive connection after the idle timeout (and not the head one),
//! and past `--max-connections` a client is answered 503 while a freed slot lets a real request
//! through. Also: the binary raises its soft open-file limit to the hard one.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser as _;
use support::{Upstream, registry_json, upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

const HEAD_MS: u64 = 300;
const IDLE_MS: u64 = 800;

/// A sidecar with all three listeners, in front of an application, and a `reviews` service in
/// its registry; it stops when dropped.
struct Sidecar {
    outbound: SocketAddr,
    inbound: SocketAddr,
    admin: SocketAddr,
    _app: Upstream,
    _reviews: Upstream,
    _dir: tempfile::TempDir,
    stop: CancellationToken,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Sidecar {
    async fn start(max_connections: u32) -> Sidecar {
        let app = upstream("the app").await;
        let reviews = upstream("reviews-v1").await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let registry = dir.path().join("registry.json");
        std::fs::write(
            &registry,
            registry_json(&[("reviews", vec![(reviews.addr, "v1")])]),
        )
        .expect("write registry");
        let bind = || TcpListener::bind("127.0.0.1:0");
        let (outbound, admin, inbound) = (
            bind().await.expect("bind"),
            bind().await.expect("bind"),
            bind().await.expect("bind"),
        );
        let addr = |l: &TcpListener| l.local_addr().expect("address");
        let (outbound_addr, admin_addr, inbound_addr) =
            (addr(&outbound), addr(&admin), addr(&inbound));
        let settings = mesh_proxy::Settings::try_parse_from([
            "mesh-proxy".to_owned(),
            format!("--registry={}", registry.display()),
            format!("--outbound={outbound_addr}"),
            format!("--admin={admin_addr}"),
            format!("--inbound={inbound_addr}"),
            format!("--app={}", app.addr),
            format!("--header-timeout-ms={HEAD_MS}"),
            format!("--idle-timeout-ms={IDLE_MS}"),
            format!("--max-connections={max_connections}"),
            "--access-log=off".to_owned(),
        ])
        .expect("valid flags");
        let stop = CancellationToken::new();
        let listeners = mesh_proxy::Listeners {
            outbound,
            admin,
            inbound: Some(inbound),
        };
        tokio::spawn(mesh_proxy::run_with(settings, listeners, stop.clone()));
        Sidecar {
            outbound: outbound_addr,
            inbound: inbound_addr,
            admin: admin_addr,
            _app: app,
            _reviews: reviews,
            _dir: dir,
            stop,
        }
    }

    /// Each listener, its name, and a request it answers 200.
    fn listeners(&self) -> [(&'static str, SocketAddr, &'static str); 3] {
        [
            (
                "outbound",
                self.outbound,
                "GET http://reviews:9080/reviews/0 HTTP/1.1\r\nHost: reviews:9080\r\n\r\n",
            ),
            (
                "inbound",
                self.inbound,
                "GET /details/0 HTTP/1.1\r\nHost: details:9080\r\n\r\n",
            ),
            (
                "admin",
                self.admin,
                "GET /stats HTTP/1.1\r\nHost: admin\r\n\r\n",
            ),
        ]
    }
}

/// Sends `request` and reads one whole answer (head, and a body of `content-length` bytes).
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let read = timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "closed before a whole answer: {text}");
        answer.extend_from_slice(&chunk[..read]);
    }
}

/// Reads until the server closes; how long that took, or `None` past `within`.
async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = Vec::new();
    timeout(within, stream.read_to_end(&mut sink))
        .await
        .ok()
        .map(|_| started.elapsed())
}

/// Waits until `listener` answers `request` with 200 (the proxy loads its registry first).
async fn until_ok(listener: SocketAddr, request: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(listener).await.expect("connect");
        let answer = exchange(&mut stream, request).await;
        if answer.starts_with("HTTP/1.1 200") {
            return answer;
        }
        assert!(Instant::now() < deadline, "never 200: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn half_a_request_line_is_closed_after_the_head_timeout_on_every_listener() {
    let sidecar = Sidecar::start(100).await;
    for (name, addr, _) in sidecar.listeners() {
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client.write_all(b"GET /produc").await.expect("write");
        let took = closed_after(&mut client, Duration::from_secs(5)).await;
        let took = took.unwrap_or_else(|| panic!("{name}: a half-sent request line stays open"));
        assert!(
            took >= Duration::from_millis(HEAD_MS - 50),
            "{name}: closed before the head timeout: {took:?}"
        );
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_on_every_listener() {
    let sidecar = Sidecar::start(100).await;
    for (name, addr, _) in sidecar.listeners() {
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let took = closed_after(&mut client, Duration::from_secs(5)).await;
        assert!(took.is_some(), "{name}: a silent connection stays open");
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_on_every_listener() {
    let sidecar = Sidecar::start(100).await;
    for (name, addr, request) in sidecar.listeners() {
        until_ok(addr, request).await;
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let answer = exchange(&mut client, request).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer}");
        // Still open after the head timeout: a second request on it is answered.
        tokio::time::sleep(Duration::from_millis(HEAD_MS + 100)).await;
        let answer = exchange(&mut client, request).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer}");
        // Then idle: closed once the idle timeout has passed.
        let took = closed_after(&mut client, Duration::from_secs(5)).await;
        let took = took.unwrap_or_else(|| panic!("{name}: an idle connection stays open"));
        assert!(
            took >= Duration::from_millis(IDLE_MS - 100),
            "{name}: closed before the idle timeout: {took:?}"
        );
    }
}

/// A keep-alive connection that has been answered once: it holds one of the listener's slots.
/// (Connections of earlier requests may hold a slot for a moment after the client dropped
/// them: a refused attempt is tried again.)
async fn served(listener: SocketAddr, request: &str) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(listener).await.expect("connect");
        let answer = exchange(&mut stream, request).await;
        if answer.starts_with("HTTP/1.1 200") {
            return stream;
        }
        assert!(Instant::now() < deadline, "never served: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn past_the_cap_a_client_gets_503_and_a_freed_slot_lets_a_request_through() {
    let sidecar = Sidecar::start(2).await;
    for (name, addr, request) in sidecar.listeners() {
        until_ok(addr, request).await;
        let held = [served(addr, request).await, served(addr, request).await];
        let mut third = TcpStream::connect(addr).await.expect("connect");
        let mut refusal = String::new();
        timeout(Duration::from_secs(5), third.read_to_string(&mut refusal))
            .await
            .expect("the refusal comes at once")
            .expect("read");
        assert!(refusal.starts_with("HTTP/1.1 503 "), "{name}: {refusal}");
        assert!(
            refusal.contains("too many connections"),
            "{name}: {refusal}"
        );
        drop(held);
        let answer = until_ok(addr, request).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer}");
    }
}

/// The soft limit on open files of process `pid`, and its hard limit.
#[cfg(target_os = "linux")]
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a line for open files")
        .to_owned();
    let mut numbers = line["Max open files".len()..].split_whitespace();
    let soft = numbers.next().expect("soft").to_owned();
    let hard = numbers.next().expect("hard").to_owned();
    (soft, hard)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_binary_raises_its_soft_open_file_limit_to_the_hard_one() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let registry = dir.path().join("registry.json");
    std::fs::write(&registry, registry_json(&[])).expect("write registry");
    let addr_file = dir.path().join("proxy.addr");
    // Started with a soft limit of 256, as a shell with `ulimit -S -n 256` would start it.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -S -n 256 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_mesh-proxy"))
        .arg(format!("--registry={}", registry.display()))
        .arg("--outbound=127.0.0.1:0")
        .arg("--admin=127.0.0.1:0")
        .arg(format!("--addr-file={}", addr_file.display()))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start mesh-proxy");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !addr_file.exists() {
        assert!(Instant::now() < deadline, "mesh-proxy never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (soft, hard) = open_file_limits(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert_ne!(soft, "256", "the soft limit was left as it was");
    assert_eq!(soft, hard);
}
