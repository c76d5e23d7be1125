//! The inbound listener over real sockets: in front of the local application.

mod support;

use std::net::SocketAddr;

use support::{refused_addr, upstream};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A proxy whose inbound side forwards to `app`; returns the inbound address.
struct Sidecar {
    inbound: SocketAddr,
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn sidecar(app: SocketAddr) -> Sidecar {
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = dir.path().join("registry.json");
    std::fs::write(&registry, r#"{"services": []}"#).expect("write registry");
    let bind = || TcpListener::bind("127.0.0.1:0");
    let (outbound, admin, inbound) = (
        bind().await.expect("bind"),
        bind().await.expect("bind"),
        bind().await.expect("bind"),
    );
    let inbound_addr = inbound.local_addr().expect("address");
    let settings = mesh_proxy::Settings {
        config_dir: None,
        registry,
        outbound: outbound.local_addr().expect("address"),
        admin: admin.local_addr().expect("address"),
        inbound: Some(inbound_addr),
        app: Some(app),
        addr_file: None,
        namespace: "default".to_owned(),
    };
    let shutdown = CancellationToken::new();
    let listeners = mesh_proxy::Listeners {
        outbound,
        admin,
        inbound: Some(inbound),
    };
    tokio::spawn(mesh_proxy::run_with(settings, listeners, shutdown.clone()));
    Sidecar {
        inbound: inbound_addr,
        _dir: dir,
        shutdown,
    }
}

#[tokio::test]
async fn inbound_requests_reach_the_local_application() {
    let app = upstream("the app").await;
    let sidecar = sidecar(app.addr).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for _ in 0..3 {
        let response = client
            .get(format!("http://{}/details/0", sidecar.inbound))
            .send()
            .await
            .expect("inbound request");
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.expect("body"), "the app");
    }
    assert_eq!(app.hits(), 3);
}

#[tokio::test]
async fn an_application_that_is_down_is_503_uf() {
    let sidecar = sidecar(refused_addr()).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let response = client
        .get(format!("http://{}/details/0", sidecar.inbound))
        .send()
        .await
        .expect("inbound request");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-sailkit-flags"], "UF");
    assert_eq!(response.headers()["x-sailkit-failed"], "upstream");
}

#[test]
fn inbound_without_app_is_a_bad_command_line() {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_mesh-proxy"))
        .args(["--registry", "none.json", "--inbound", "127.0.0.1:0"])
        .output()
        .expect("run mesh-proxy");
    assert_eq!(status.status.code(), Some(64), "{status:?}");
}
