//! A crowd of registrations: 10,000 streams, the most `--max-proxies` allows, from clients that
//! never read what they are sent, against the real `mesh-control` binary.
//!
//! What must hold: the 10,001st is refused, the admin port keeps answering, the control plane's
//! memory stays under [`RSS_BOUND_MB`] however the pushes pile up, and once the clients go,
//! nothing of them is left. Every proxy registers an address, so the snapshot grows to 10,000
//! endpoints (about 600 KB) and is pushed to all 10,000 streams; since they never read, it waits
//! in the control plane for each of them. Sent as copies, that would be gigabytes; shared (one
//! encoding for every stream, `discovery::server`), it is the size of one snapshot.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::channel::mpsc;
use mesh_api::v1::discovery_client::DiscoveryClient;
use mesh_api::v1::{ProxyMessage, Snapshot};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status, Streaming};

use crate::support::{BINARY, get, read_when_written, register, until_ready};

/// The registrations, and `--max-proxies`.
const PROXIES: usize = 10_000;
/// Streams per HTTP/2 connection (the server takes 200 at once on one connection).
const PER_CONNECTION: usize = 100;
/// The control plane's resident memory may not pass this, from start to the crowd's end. In a
/// debug build it measured 85-90 MB with the crowd connected (some 8 KB a stream: hyper's and
/// tonic's state, the registration) and 128-132 MB at its peak, while `/proxies` and
/// `/config_dump` render 10,000 proxies as JSON. Each stream holding its own copy of the
/// snapshot would be 6 GB; before snapshots were shared, the crowd did not even finish
/// registering within the patience (one snapshot built per stream).
const RSS_BOUND_MB: u64 = 200;
/// How long the crowd may take to register, and later to be gone.
const CROWD_PATIENCE: Duration = Duration::from_secs(30);

/// A stream that stays open: its sender keeps the request side open, and its snapshots are
/// never read.
struct Silent {
    _send: mpsc::UnboundedSender<ProxyMessage>,
    _snapshots: Streaming<Snapshot>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_registrations_are_bounded_and_the_next_one_refused() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let addr_file = dir.path().join("addr");
    let max_proxies = PROXIES.to_string();
    let child = tokio::process::Command::new(BINARY)
        .args(["--grpc", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .args(["--max-proxies", &max_proxies, "--addr-file"])
        .arg(&addr_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let pid = child.id().expect("running");
    let (grpc, admin) = addresses(&read_when_written(&addr_file).await);
    until_ready(admin).await;

    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_rss(pid, Arc::clone(&peak_rss)));

    let started = Instant::now();
    let mut channels = Vec::new();
    for _ in 0..PROXIES.div_ceil(PER_CONNECTION) {
        channels.push(connect(grpc).await);
    }
    let opening = (0..PROXIES).map(|i| open(channels[i / PER_CONNECTION].clone(), i));
    let crowd: Vec<Silent> = tokio::time::timeout(
        CROWD_PATIENCE,
        futures::stream::iter(opening)
            .buffer_unordered(500)
            .map(|opened| opened.expect("registered"))
            .collect(),
    )
    .await
    .expect("10,000 registrations within the patience");
    eprintln!("{PROXIES} registered in {:?}", started.elapsed());

    let one_more = open(connect(grpc).await, PROXIES).await;
    let refused = one_more.err().expect("the 10,001st is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("--max-proxies"), "{refused:?}");

    // Let the pushes of the burst happen (debounce 100 ms, at most 1 s), then look.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = get(admin, "/ready").await;
    assert_eq!(ready.status(), 200);
    let proxies = connected(admin).await;
    assert_eq!(proxies, PROXIES);
    let dump: serde_json::Value = get(admin, "/config_dump").await.json().await.expect("JSON");
    let endpoints: usize = dump["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|service| service["endpoints"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(endpoints, PROXIES, "every registration is an endpoint");

    drop(crowd);
    drop(channels);

    let deadline = tokio::time::Instant::now() + CROWD_PATIENCE;
    while connected(admin).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "proxies left registered after their clients went"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    sampler.abort();
    let peak_mb = peak_rss.load(Ordering::Relaxed) / 1024;
    eprintln!("control plane peak VmRSS {peak_mb} MB");
    assert!(
        peak_mb < RSS_BOUND_MB,
        "the control plane reached {peak_mb} MB with {PROXIES} proxies (bound {RSS_BOUND_MB} MB)"
    );
}

/// The `grpc=` and `admin=` lines of an address file.
fn addresses(text: &str) -> (SocketAddr, SocketAddr) {
    let find = |key: &str| -> SocketAddr {
        text.lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no {key} line in {text:?}"))
    };
    (find("grpc="), find("admin="))
}

/// One HTTP/2 connection whose windows are the smallest HTTP/2 allows: clients that do not
/// read take in at most 64 KB, the rest waits on the control plane's side.
async fn connect(grpc: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{grpc}"))
        .expect("a URI")
        .initial_connection_window_size(65_535)
        .initial_stream_window_size(65_535)
        .connect()
        .await
        .expect("connects")
}

/// Opens proxy `i`'s stream: a `Register` with an address of its own.
async fn open(channel: Channel, i: usize) -> Result<Silent, Status> {
    let (send, messages) = mpsc::unbounded();
    let address = format!("127.0.0.1:{}", 20_000 + i);
    let first = register(&format!("crowd-{i:05}"), "crowd", &address, "v1");
    send.unbounded_send(first).expect("queued");
    let snapshots = DiscoveryClient::new(channel)
        .stream(messages)
        .await?
        .into_inner();
    Ok(Silent {
        _send: send,
        _snapshots: snapshots,
    })
}

/// How many proxies `/proxies` lists.
async fn connected(admin: SocketAddr) -> usize {
    let proxies: serde_json::Value = get(admin, "/proxies").await.json().await.expect("JSON");
    proxies["proxies"].as_array().map_or(0, Vec::len)
}

/// Keeps the largest VmRSS (kB) of process `pid` in `peak`, every 100 ms.
async fn sample_rss(pid: u32, peak: Arc<AtomicU64>) {
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        peak.fetch_max(kb, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
