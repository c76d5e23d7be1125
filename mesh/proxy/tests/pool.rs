//! The HTTP/1.1 connection pool towards upstreams (`mesh_proxy::pool`), over real sockets.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{Mesh, stat};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const RATINGS: &str = "http://ratings:9080/ratings/0";

/// A bare HTTP/1.1 upstream that counts the connections it accepts. With `close_each`, it
/// answers one request per connection and then closes it without saying so (no
/// `Connection: close`), as a server whose keep-alive timeout ran out does; without, it keeps
/// every connection open for more requests.
async fn counting_upstream(close_each: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                loop {
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    request.clear();
                    let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(answer.as_bytes()).await.is_err() || close_each {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn connections_are_reused() {
    let (addr, accepted) = counting_upstream(false).await;
    let mesh = Mesh::start(&[("ratings", vec![(addr, "v1")])], &[]).await;
    for _ in 0..20 {
        let (status, _, body) = mesh.get(RATINGS, None).await;
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one request at a time needs one connection, kept alive"
    );
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_not_used_again() {
    let (addr, accepted) = counting_upstream(true).await;
    let mesh = Mesh::start(&[("ratings", vec![(addr, "v1")])], &[]).await;
    for i in 1..=5 {
        let (status, flags, body) = mesh.get(RATINGS, None).await;
        assert_eq!(
            (status, flags.as_str(), body.as_str()),
            (200, "", "ok"),
            "request {i}"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        5,
        "a new connection each time"
    );
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(stat(&stats, "retries"), 0, "{stats}");
}
