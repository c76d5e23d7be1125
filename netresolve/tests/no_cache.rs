//! Every lookup asks the name server again: Docker's DNS round robin (a new order of a name's
//! addresses at each query) only spreads connections if answers are not cached. A UDP relay on
//! 127.0.0.1 counts the queries that reach a server answering with a long TTL.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use netresolve::Resolver;
use tokio::net::UdpSocket;

/// A server that answers every A query with 10.0.0.1, TTL 600 s (Docker's), and counts them.
async fn counting_server(queries: Arc<AtomicUsize>) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let address = socket.local_addr().expect("address");
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        while let Ok((length, from)) = socket.recv_from(&mut buffer).await {
            let query = &buffer[..length];
            // The question ends 5 bytes after the zero byte that ends its name (type, class).
            let Some(name_end) = query[12..].iter().position(|b| *b == 0) else {
                continue;
            };
            let question_end = 12 + name_end + 5;
            let is_a = query.get(question_end - 4..question_end - 2) == Some(&[0, 1]);
            queries.fetch_add(usize::from(is_a), Ordering::SeqCst);
            let mut reply = query[..question_end].to_vec();
            reply[2] = 0x81;
            reply[3] = 0x80;
            reply[6..12].copy_from_slice(&[0, u8::from(is_a), 0, 0, 0, 0]);
            if is_a {
                reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4]);
                reply.extend_from_slice(&Ipv4Addr::new(10, 0, 0, 1).octets());
            }
            let _ = socket.send_to(&reply, from).await;
        }
    });
    address
}

#[tokio::test]
async fn each_lookup_asks_the_name_server_again() {
    let queries = Arc::new(AtomicUsize::new(0));
    let server = counting_server(queries.clone()).await;
    let resolver = Resolver::with_name_servers(&[server]);
    for _ in 0..3 {
        let found = resolver.lookup("reviews", 9080).await.expect("resolves");
        assert_eq!(found, vec![SocketAddr::from(([10, 0, 0, 1], 9080))]);
    }
    assert_eq!(queries.load(Ordering::SeqCst), 3, "an answer was cached");
}
