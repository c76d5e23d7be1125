//! Clients that are broken or hostile do not take the control plane down.

use std::time::Duration;

use mesh_control::discovery::MAX_MESSAGE_BYTES;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tonic::Code;

use crate::support::{Plane, Proxy, endpoint_ids, open, register};

#[tokio::test]
async fn garbage_bytes_on_the_grpc_port_do_not_stop_the_server() {
    let plane = Plane::start(&[], &[]).await;
    for garbage in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice(),
        b"\x00\x01\x02\x03 not a preface at all \xff\xfe".as_slice(),
        // A valid HTTP/2 preface, then a frame header that promises more than it sends.
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\x00\x00\x00\x00\x00\x01".as_slice(),
    ] {
        let mut socket = TcpStream::connect(plane.grpc).await.expect("connects");
        socket.write_all(garbage).await.expect("writes");
        let mut buffer = [0u8; 1024];
        // The server answers or closes; either way this connection is done.
        let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await;
    }
    let (_proxy, snapshot) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    assert_eq!(endpoint_ids(&snapshot, "reviews"), ["reviews-v1"]);
}

#[tokio::test]
async fn a_proxy_that_never_reads_does_not_hold_up_the_others() {
    // A file large enough that a few snapshots fill the HTTP/2 windows of a stream not read.
    let padding = format!("# {}\n", "x".repeat(200));
    let large = format!("{}{}", crate::support::REVIEWS_V1, padding.repeat(1500));
    let plane = Plane::start(&[("reviews.yaml", &large)], &["--debounce-ms", "0"]).await;
    let (_stalled, _) = Proxy::connect(plane.grpc, "stalled", "127.0.0.1:9000").await;
    let (mut reader, _) = Proxy::connect(plane.grpc, "reviews-v1", "").await;

    // Twenty changes, each pushed at once (no debounce) to both streams.
    for port in 9001..=9020 {
        let address = format!("127.0.0.1:{port}");
        reader.send(crate::support::register(
            "reviews-v1",
            "reviews",
            &address,
            "v1",
        ));
        loop {
            let snapshot = reader.next().await;
            let ids = endpoint_ids(&snapshot, "reviews");
            let has_new_address = snapshot.services[0]
                .endpoints
                .iter()
                .any(|e| e.address == address);
            if ids.len() == 2 && has_new_address {
                break;
            }
        }
    }
    let status = plane.proxy_status().await;
    assert_eq!(status.proxies.len(), 2, "{status:?}");
}

#[tokio::test]
async fn a_message_over_the_limit_is_refused_and_the_next_stream_served() {
    let plane = Plane::start(&[], &[]).await;
    let huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
    let refused = open(
        plane.grpc,
        register("huge", "reviews", "127.0.0.1:9000", &huge),
    )
    .await
    .err()
    .expect("a Register over the limit is refused");
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert!(refused.message().contains("too large"), "{refused:?}");

    let (_proxy, snapshot) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    assert_eq!(endpoint_ids(&snapshot, "reviews"), ["reviews-v1"]);
}
