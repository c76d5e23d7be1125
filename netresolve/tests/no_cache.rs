//! DNS round robin reaches the connections: every lookup asks the name server again (Docker's
//! DNS gives a new order of a name's addresses at each query, which only spreads connections if
//! answers are not cached), and the addresses come in a random order even from a server that
//! always answers in the same one. A UDP server on 127.0.0.1 answers with a long TTL and counts
//! the queries.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use netresolve::Resolver;
use tokio::net::UdpSocket;

/// A server that answers every A query with `addresses`, always in that order, TTL 600 s
/// (Docker's), and counts the queries.
async fn counting_server(addresses: &'static [Ipv4Addr], queries: Arc<AtomicUsize>) -> SocketAddr {
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
            let answers = if is_a { addresses } else { &[] };
            reply[6..12].copy_from_slice(&[0, answers.len() as u8, 0, 0, 0, 0]);
            for address in answers {
                reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4]);
                reply.extend_from_slice(&address.octets());
            }
            let _ = socket.send_to(&reply, from).await;
        }
    });
    address
}

#[tokio::test]
async fn each_lookup_asks_the_name_server_again() {
    let queries = Arc::new(AtomicUsize::new(0));
    const DETAILS: [Ipv4Addr; 1] = [Ipv4Addr::new(10, 0, 0, 1)];
    let server = counting_server(&DETAILS, queries.clone()).await;
    let resolver = Resolver::with_name_servers(&[server]);
    for _ in 0..3 {
        let found = resolver.lookup("reviews", 9080).await.expect("resolves");
        assert_eq!(found, vec![SocketAddr::from(([10, 0, 0, 1], 9080))]);
    }
    assert_eq!(queries.load(Ordering::SeqCst), 3, "an answer was cached");
}

#[tokio::test]
async fn each_address_comes_first_in_turn_even_from_a_server_with_one_order() {
    const REVIEWS: [Ipv4Addr; 3] = [
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(10, 0, 0, 3),
    ];
    let server = counting_server(&REVIEWS, Arc::new(AtomicUsize::new(0))).await;
    let resolver = Resolver::with_name_servers(&[server]);
    let mut firsts = HashSet::new();
    // 60 lookups: the chance that one address never comes first by luck is 3 * (2/3)^60.
    for _ in 0..60 {
        let found = resolver.lookup("reviews", 9080).await.expect("resolves");
        let mut sorted = found.clone();
        sorted.sort();
        let all: Vec<SocketAddr> = REVIEWS
            .iter()
            .map(|ip| SocketAddr::from((*ip, 9080)))
            .collect();
        assert_eq!(sorted, all, "every address, each once");
        firsts.insert(found[0]);
    }
    assert_eq!(firsts.len(), 3, "only these came first: {firsts:?}");
}
