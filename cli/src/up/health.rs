//! Is an instance ready? Its address file, then `GET /health`.
//!
//! This is the launcher's readiness probe, like the kubelet's: an instance receives traffic from
//! its VIP only once it answered `/health` with 200. The probe goes to the instance's own
//! address, not through the VIP, because the question is about this one process.
//!
//! Two steps, because an instance may have been started on port 0:
//! 1. wait for `SAILKIT_ADDR_FILE`, which the service writes once it is listening;
//! 2. poll `GET http://<that address>/health`, each try with a short timeout, until it is 200.
//!
//! Neither step has a deadline of its own: the caller bounds the wait and watches the process.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// One try's timeout: a service on loopback answers `/health` in well under a millisecond, so
/// a try this slow means "not yet".
const TRY_TIMEOUT: Duration = Duration::from_secs(1);
/// The pause between tries.
const INTERVAL: Duration = Duration::from_millis(50);

/// The HTTP client for probes. It never goes through an HTTP proxy from the environment: the
/// instances are on this machine.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(TRY_TIMEOUT)
        .build()
        .unwrap_or_default()
}

/// Waits until `addr_file` names an address and `/health` there answers 200; returns the
/// address. `last_error` always holds the latest reason it is not ready yet.
pub async fn wait_ready(
    addr_file: &Path,
    client: &reqwest::Client,
    last_error: &mut String,
) -> SocketAddr {
    let addr = loop {
        match read_addr_file(addr_file) {
            Some(addr) => break addr,
            None => {
                *last_error = format!("it has not written {} yet", addr_file.display());
                tokio::time::sleep(INTERVAL).await;
            }
        }
    };
    let url = format!("http://{addr}/health");
    loop {
        match client.get(&url).send().await {
            Ok(response) if response.status().is_success() => return addr,
            Ok(response) => *last_error = format!("GET {url} answered {}", response.status()),
            Err(error) => *last_error = format!("GET {url} failed: {error}"),
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// The address in an address file, once it is there. The service writes it whole (to a
/// temporary file, then renamed), so a file that exists is complete.
pub fn read_addr_file(path: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;

    #[tokio::test]
    async fn ready_once_the_address_is_written_and_health_answers() {
        let server = testkit::serve(Router::new().route("/health", get(|| async { "ok" }))).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("x.addr");
        let mut last_error = String::new();
        let client = client();

        let waiting = wait_ready(&file, &client, &mut last_error);
        let written = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            std::fs::write(&file, server.addr.to_string()).expect("write");
        };
        let (addr, ()) = tokio::join!(waiting, written);
        assert_eq!(addr, server.addr);
    }

    #[tokio::test]
    async fn an_unhealthy_answer_is_the_last_error() {
        let unhealthy = Router::new().route(
            "/health",
            get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "no") }),
        );
        let server = testkit::serve(unhealthy).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("x.addr");
        std::fs::write(&file, server.addr.to_string()).expect("write");
        let mut last_error = String::new();
        let client = client();
        let waited = tokio::time::timeout(
            Duration::from_millis(300),
            wait_ready(&file, &client, &mut last_error),
        )
        .await;
        assert!(waited.is_err(), "never ready");
        assert!(last_error.contains("503"), "{last_error}");
    }
}
