//! The access log line ends with the request's `x-request-id` and trace id, through the
//! `mesh-proxy` binary (its stdout is the access log).

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Stops the proxy when the test ends, whichever way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_line_carries_the_request_id_and_the_trace_id() {
    let upstream = support::upstream("v1").await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let registry = dir.path().join("registry.json");
    std::fs::write(
        &registry,
        support::registry_json(&[("ratings", vec![(upstream.addr, "v1")])]),
    )
    .expect("write registry");
    let addr_file = dir.path().join("proxy.addr");
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_mesh-proxy"))
            .arg(format!("--registry={}", registry.display()))
            .args(["--outbound=127.0.0.1:0", "--admin=127.0.0.1:0"])
            .arg(format!("--addr-file={}", addr_file.display()))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start mesh-proxy"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let outbound = loop {
        let text = std::fs::read_to_string(&addr_file).unwrap_or_default();
        if let Some(line) = text.lines().find_map(|l| l.strip_prefix("outbound=")) {
            break line.to_owned();
        }
        assert!(Instant::now() < deadline, "mesh-proxy never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mesh = support::Mesh::attach(
        tempfile::tempdir().expect("dir"),
        outbound.parse().expect("address"),
        outbound.parse().expect("address"),
        tokio_util::sync::CancellationToken::new(),
    );
    // Until the registry is loaded the proxy answers 503 `UH`; the line to find is a 200.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = mesh
            .client
            .get("http://ratings:9080/ratings/0")
            .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
            .header("x-request-id", "the-request")
            .send()
            .await
            .expect("request");
        if response.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the proxy never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stdout = child.0.stdout.take().expect("stdout");
    let reader = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("\" 200 "))
    });
    // Lines are written at least every 100 ms; on a timeout, dropping `child` ends the reader.
    let line = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("an access log line within 10 s")
        .expect("reader")
        .expect("an access log line for the 200");
    assert!(
        line.ends_with(&format!("\"the-request\" \"{TRACE}\"")),
        "{line}"
    );
}
