//! A service run for real (`sailkit serve details`, what the launcher starts) applies the
//! connection limits of its environment, and refuses to start on a bad one.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{sailkit, wait_for_file, wait_with_timeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_served_service_closes_half_a_request_line_after_its_header_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr_file = dir.path().join("details.addr");
    let mut child = sailkit()
        .args(["serve", "details", "0", "--bind", "127.0.0.1"])
        .env("SAILKIT_ADDR_FILE", &addr_file)
        .env("SAILKIT_HEADER_TIMEOUT_MS", "300")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sailkit serve starts");
    let addr = wait_for_file(&addr_file, Duration::from_secs(30)).expect("the address is written");

    let mut client = TcpStream::connect(addr.trim()).await.expect("connect");
    client.write_all(b"GET /heal").await.expect("write");
    let started = Instant::now();
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut sink)).await;
    let took = started.elapsed();

    let _ = child.kill();
    let _ = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(closed.is_ok(), "a half-sent request line stays open");
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
}

#[test]
fn a_bad_connection_limit_stops_the_service_with_64_and_names_the_variable() {
    for (name, value) in [
        ("SAILKIT_MAX_CONNECTIONS", "0"),
        ("SAILKIT_IDLE_TIMEOUT_MS", "soon"),
    ] {
        let output = sailkit()
            .args(["serve", "details", "0", "--bind", "127.0.0.1"])
            .env(name, value)
            .stdin(Stdio::null())
            .output()
            .expect("sailkit runs");
        assert_eq!(output.status.code(), Some(64), "{name}={value}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{stderr}");
    }
}
