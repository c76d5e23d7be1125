//! `PEER_CONNECTIONS`: pooled calls share one connection, per-call calls each open their own.
//! A real server on port 0 answers each call with the client's port, so the test sees which
//! connection carried it.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use common::client::{self, PeerConnections};

/// A server answering `GET /` with the port the call came from.
async fn port_echo_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.port().to_string() }),
    );
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    address
}

/// The client ports seen by the server over four calls made one after another.
async fn ports_of_four_calls(connections: PeerConnections) -> HashSet<String> {
    let server = port_echo_server().await;
    let client = client::build("test", connections).expect("client");
    let mut ports = HashSet::new();
    for _ in 0..4 {
        let response = client
            .get(format!("http://{server}/"))
            .send()
            .await
            .expect("answered");
        ports.insert(response.text().await.expect("body"));
    }
    ports
}

#[tokio::test]
async fn pooled_calls_reuse_one_connection() {
    assert_eq!(ports_of_four_calls(PeerConnections::Pooled).await.len(), 1);
}

#[tokio::test]
async fn per_call_opens_a_connection_for_each_call() {
    assert_eq!(ports_of_four_calls(PeerConnections::PerCall).await.len(), 4);
}

#[test]
fn the_setting_is_read_from_the_environment_and_checked() {
    let read = |value: &'static str| {
        PeerConnections::from_env(&HashMap::from([("PEER_CONNECTIONS", value)]))
    };
    assert_eq!(read("").expect("unset"), PeerConnections::Pooled);
    assert_eq!(read("per-call").expect("valid"), PeerConnections::PerCall);
    let error = read("sometimes").expect_err("not a choice").to_string();
    assert!(
        error.contains("PEER_CONNECTIONS") && error.contains("per-call"),
        "{error}"
    );
}
