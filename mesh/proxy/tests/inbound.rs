//! The inbound listener over real sockets: in front of the local application.

mod support;

use std::net::SocketAddr;

use support::{App, InboundProxy, refused_addr, upstream};

/// A proxy whose inbound side forwards to `app`.
async fn sidecar(app: SocketAddr) -> InboundProxy {
    InboundProxy::start(App::At(app)).await
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
