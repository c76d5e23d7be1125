//! The inbound listener with `--app-addr-file`: the application's address comes from the file
//! it writes once listening, which may appear after the proxy starts and change later.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{App, InboundProxy, upstream};

/// A proxy with an inbound listener whose application is named by `app_file`.
struct Sidecar {
    proxy: InboundProxy,
    app_file: PathBuf,
    client: reqwest::Client,
}

/// Starts the proxy; the application's address file does not exist yet.
async fn sidecar() -> Sidecar {
    let proxy = InboundProxy::start(App::File("app.addr")).await;
    Sidecar {
        app_file: proxy.app_file.clone().expect("an address file"),
        proxy,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    }
}

/// Writes the address as a sailkit service does: plain `IP:PORT`, to a temporary name renamed
/// into place.
fn announce(file: &Path, text: &str) {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write address");
    std::fs::rename(&tmp, file).expect("rename address");
}

impl Sidecar {
    /// One inbound request: (status, flags header, body).
    async fn get(&self) -> (u16, Option<String>, String) {
        let response = self
            .client
            .get(format!("http://{}/details/0", self.proxy.inbound))
            .send()
            .await
            .expect("inbound request");
        let status = response.status().as_u16();
        let flags = response
            .headers()
            .get("x-sailkit-flags")
            .map(|v| v.to_str().expect("ascii").to_owned());
        (status, flags, response.text().await.expect("body"))
    }

    /// GET an admin path: (status, body).
    async fn admin_get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("http://{}{path}", self.proxy.admin))
            .send()
            .await
            .expect("admin request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// Sends inbound requests until one answers `body` (at most 10 s: a poll is 500 ms).
    async fn wait_for_body(&self, body: &str) {
        let mut last = None;
        for _ in 0..200 {
            let answer = self.get().await;
            if answer.0 == 200 && answer.2 == body {
                return;
            }
            last = Some(answer);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the inbound side never answered {body:?}; last answer {last:?}");
    }

    /// Polls `/ready` until its status is `status` (at most 10 s); returns its body.
    async fn wait_ready_status(&self, status: u16) -> String {
        let mut last = None;
        for _ in 0..200 {
            let (got, body) = self.admin_get("/ready").await;
            if got == status {
                return body;
            }
            last = Some((got, body));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/ready never answered {status}; last answer {last:?}");
    }
}

#[tokio::test]
async fn before_the_file_exists_inbound_is_503_uh_and_not_ready() {
    let sidecar = sidecar().await;
    // The registry is there: only the application's address is missing.
    let body = sidecar.wait_ready_status(503).await;
    assert!(body.contains("application's address"), "{body}");
    assert!(body.contains("app.addr"), "{body}");
    assert!(!body.contains("registry"), "{body}");
    let (status, flags, body) = sidecar.get().await;
    assert_eq!(status, 503);
    assert_eq!(flags.as_deref(), Some("UH"));
    assert!(body.contains("no healthy upstream"), "{body}");
    assert!(body.contains("not announced its address"), "{body}");
}

#[tokio::test]
async fn the_written_address_is_forwarded_to_and_ready_flips() {
    let app = upstream("the app").await;
    let sidecar = sidecar().await;
    sidecar.wait_ready_status(503).await;
    announce(&sidecar.app_file, &app.addr.to_string());
    sidecar.wait_for_body("the app").await;
    assert_eq!(sidecar.wait_ready_status(200).await, "ready\n");
    let (_, dump) = sidecar.admin_get("/config_dump").await;
    let dump: serde_json::Value = serde_json::from_str(&dump).expect("json");
    assert_eq!(dump["ready"], true);
    assert_eq!(dump["app"]["address"], app.addr.to_string());
    assert!(dump["app"]["error"].is_null(), "{dump}");
}

#[tokio::test]
async fn a_new_address_is_followed_and_garbage_keeps_the_last_good_one() {
    let (first, second) = (upstream("first").await, upstream("second").await);
    let sidecar = sidecar().await;
    announce(&sidecar.app_file, &format!("{}\n", first.addr));
    sidecar.wait_for_body("first").await;

    // The application restarted on another port.
    announce(&sidecar.app_file, &second.addr.to_string());
    sidecar.wait_for_body("second").await;
    let hits_before = first.hits();

    // Garbage: reported, and the last good address stays in force.
    announce(&sidecar.app_file, "not an address");
    let mut dump = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, text) = sidecar.admin_get("/config_dump").await;
        dump = serde_json::from_str(&text).expect("json");
        if !dump["app"]["error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = dump["app"]["error"].as_str().expect("an error is reported");
    assert!(error.contains("not an address"), "{error}");
    assert_eq!(dump["app"]["address"], second.addr.to_string());
    assert_eq!(sidecar.wait_ready_status(200).await, "ready\n");
    let (status, _, body) = sidecar.get().await;
    assert_eq!((status, body.as_str()), (200, "second"));
    assert_eq!(
        first.hits(),
        hits_before,
        "the old address is not used again"
    );
}

#[test]
fn app_and_app_addr_file_together_are_a_bad_command_line() {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_mesh-proxy"))
        .args([
            "--registry",
            "none.json",
            "--inbound",
            "127.0.0.1:0",
            "--app",
            "127.0.0.1:1",
            "--app-addr-file",
            "app.addr",
        ])
        .output()
        .expect("run mesh-proxy");
    assert_eq!(status.status.code(), Some(64), "{status:?}");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("--app-addr-file"), "{stderr}");
}
