//! The resolver against a real DNS server: a tiny UDP responder on 127.0.0.1, port 0, that
//! answers A queries from a table and NXDOMAIN otherwise. Also that literals and `localhost`
//! need no server at all, and that each adapter (hyper, reqwest, URL pinning) goes through it.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use netresolve::Resolver;
use tokio::net::UdpSocket;

/// Starts the responder; returns its address.
async fn dns_server(names: &[(&str, Ipv4Addr)]) -> SocketAddr {
    let table: HashMap<String, Ipv4Addr> = names
        .iter()
        .map(|(name, ip)| (name.to_string(), *ip))
        .collect();
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let address = socket.local_addr().expect("address");
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        while let Ok((length, from)) = socket.recv_from(&mut buffer).await {
            if let Some(reply) = answer(&buffer[..length], &table) {
                let _ = socket.send_to(&reply, from).await;
            }
        }
    });
    address
}

/// The reply to one query: the question echoed, and one A record when the name is known.
fn answer(query: &[u8], table: &HashMap<String, Ipv4Addr>) -> Option<Vec<u8>> {
    // Header (12 bytes), then the question: labels, a zero byte, type (2) and class (2).
    let mut at = 12;
    let mut labels = Vec::new();
    while *query.get(at)? != 0 {
        let length = usize::from(query[at]);
        labels.push(String::from_utf8_lossy(query.get(at + 1..at + 1 + length)?).to_lowercase());
        at += 1 + length;
    }
    let question_end = at + 5;
    let record_type = u16::from_be_bytes([*query.get(at + 1)?, *query.get(at + 2)?]);
    let found = table.get(&labels.join(".")).filter(|_| record_type == 1);
    let mut reply = query.get(..question_end)?.to_vec();
    reply[2] = 0x81; // a response, recursion desired
    reply[3] = if found.is_some() || table.contains_key(&labels.join(".")) {
        0x80
    } else {
        0x83
    };
    reply[6..12].copy_from_slice(&[0, u8::from(found.is_some()), 0, 0, 0, 0]);
    if let Some(ip) = found {
        // The name as a pointer to the question, type A, class IN, TTL 60, 4 bytes of address.
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        reply.extend_from_slice(&ip.octets());
    }
    Some(reply)
}

#[tokio::test]
async fn a_name_resolves_through_the_configured_dns_server() {
    let server = dns_server(&[("details", Ipv4Addr::new(10, 9, 8, 7))]).await;
    let resolver = Resolver::with_name_servers(&[server]);
    let found = resolver
        .lookup("details", 9080)
        .await
        .expect("details resolves");
    assert_eq!(found, vec![SocketAddr::from(([10, 9, 8, 7], 9080))]);
}

#[tokio::test]
async fn an_unknown_name_is_an_error_that_names_it() {
    let server = dns_server(&[]).await;
    let resolver = Resolver::with_name_servers(&[server]);
    let error = resolver
        .lookup("nowhere", 80)
        .await
        .expect_err("no such name");
    assert!(error.to_string().contains("`nowhere`"), "{error}");
}

#[tokio::test]
async fn literals_and_localhost_need_no_dns_server() {
    // A server that never answers: nothing here may reach it.
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let resolver = Resolver::with_name_servers(&[silent.local_addr().expect("address")]);
    assert_eq!(
        resolver
            .lookup("10.1.2.3", 5432)
            .await
            .expect("IPv4 literal"),
        vec![SocketAddr::from(([10, 1, 2, 3], 5432))]
    );
    assert_eq!(
        resolver.lookup("[::1]", 80).await.expect("IPv6 literal"),
        vec!["[::1]:80".parse().expect("address")]
    );
    let local = resolver
        .lookup("localhost", 15010)
        .await
        .expect("localhost");
    assert_eq!(local[0], SocketAddr::from(([127, 0, 0, 1], 15010)));
    assert_eq!(
        resolver
            .lookup_one("LOCALHOST.", 1)
            .await
            .expect("any case, rooted"),
        SocketAddr::from(([127, 0, 0, 1], 1))
    );
}

#[tokio::test]
async fn a_postgres_url_is_pinned_to_the_address_of_its_host() {
    let server = dns_server(&[("postgres", Ipv4Addr::new(172, 18, 0, 5))]).await;
    let resolver = Resolver::with_name_servers(&[server]);
    let pinned = resolver
        .pin_url_host("postgres://bookinfo:secret@postgres:5432/bookinfo?sslmode=disable")
        .await
        .expect("pinned");
    assert_eq!(
        pinned,
        "postgres://bookinfo:secret@172.18.0.5:5432/bookinfo?sslmode=disable"
    );
    // A `host=` parameter (a socket folder) is what the driver connects to: left alone.
    let socket = "postgres://postgres@localhost:5432/db?host=/tmp/pg";
    assert_eq!(resolver.pin_url_host(socket).await.expect("kept"), socket);
    let error = resolver
        .pin_url_host("postgres:///bookinfo")
        .await
        .expect_err("no host");
    assert!(error.to_string().contains("no host"), "{error}");
}

/// An HTTP server on 127.0.0.1 answering `ok` at `/health`; returns its port.
async fn health_server() -> u16 {
    let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// A hyper client whose connector resolves through the test's DNS server reaches an HTTP
/// server on 127.0.0.1 by a name only that server knows.
#[tokio::test]
async fn the_hyper_connector_connects_to_a_name_only_our_dns_knows() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let port = health_server().await;

    let server = dns_server(&[("details.test", Ipv4Addr::LOCALHOST)]).await;
    let connector = netresolve::http_connector(Resolver::with_name_servers(&[server]));
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<bytes::Bytes>>(connector);
    let uri = format!("http://details.test:{port}/health")
        .parse()
        .expect("URI");
    let response = client
        .get(uri)
        .await
        .expect("the name resolves and connects");
    assert!(response.status().is_success());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"ok");
}

/// The same through reqwest, the services' client.
#[tokio::test]
async fn the_reqwest_client_connects_to_a_name_only_our_dns_knows() {
    let port = health_server().await;

    let server = dns_server(&[("reviews.test", Ipv4Addr::LOCALHOST)]).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(netresolve::reqwest_resolver(Resolver::with_name_servers(
            &[server],
        )))
        .build()
        .expect("client");
    let body = client
        .get(format!("http://reviews.test:{port}/health"))
        .send()
        .await
        .expect("the name resolves and connects")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "ok");
}

/// The blocking lookup (`sailkit load`'s) works outside a runtime and inside one.
#[test]
fn the_blocking_lookup_works_with_or_without_a_runtime() {
    let expected = SocketAddr::from(([127, 0, 0, 1], 8080));
    assert_eq!(
        netresolve::lookup_blocking("localhost", 8080).expect("outside"),
        expected
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let inside = runtime.block_on(async { netresolve::lookup_blocking("127.0.0.1", 8080) });
    assert_eq!(inside.expect("inside"), expected);
}
