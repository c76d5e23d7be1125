//! The HTTP/2 connection pool towards upstreams (`mesh_proxy::pool`), over real sockets: h2c
//! requests to the proxy go upstream over HTTP/2, on one connection per endpoint.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Mesh, flags, ratings_dr, ratings_vs};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// An h2c upstream that counts the connections it accepts, the requests each one carries and
/// the ones it has finished with, and answers every request `ok PATH` after `delay`.
struct H2Upstream {
    addr: SocketAddr,
    /// Connections accepted.
    accepted: Arc<AtomicUsize>,
    /// Connections closed (their serving ended).
    closed: Arc<AtomicUsize>,
    /// The most requests in progress at the same time.
    peak: Arc<AtomicUsize>,
    /// Requests received on each connection, in the order the connections were accepted.
    requests: Arc<Mutex<Vec<usize>>>,
    task: JoinHandle<()>,
}

impl Drop for H2Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl H2Upstream {
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }

    /// Requests received on each connection so far, in the order the connections were accepted.
    fn requests_per_connection(&self) -> Vec<usize> {
        self.requests
            .lock()
            .expect("the request counts are not poisoned")
            .clone()
    }

    /// Poll until the upstream has closed `n` connections (at most 5 s).
    async fn wait_closed(&self, n: usize) {
        for _ in 0..500 {
            if self.closed() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the upstream closed {} connections, expected {n}",
            self.closed()
        );
    }
}

/// Counts a request in progress, and its peak.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Start an h2c (HTTP/2 only, prior knowledge) upstream. With `close_first`, its first
/// connection is shut down gracefully (GOAWAY, then the socket is closed) once it has answered
/// one request; every other connection stays open.
async fn h2_upstream(delay: Duration, close_first: bool) -> H2Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (accepted_count, closed_count, peak_count, request_counts) = (
        accepted.clone(),
        closed.clone(),
        peak.clone(),
        requests.clone(),
    );
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let number = accepted_count.fetch_add(1, Ordering::SeqCst);
            request_counts
                .lock()
                .expect("the request counts are not poisoned")
                .push(0);
            let answered = Arc::new(Notify::new());
            let (answered_in_service, peak, in_flight, counts) = (
                answered.clone(),
                peak_count.clone(),
                in_flight.clone(),
                request_counts.clone(),
            );
            let service = service_fn(move |request: Request<Incoming>| {
                let (answered, peak, in_flight) =
                    (answered_in_service.clone(), peak.clone(), in_flight.clone());
                if let Some(count) = counts
                    .lock()
                    .expect("the request counts are not poisoned")
                    .get_mut(number)
                {
                    *count += 1;
                }
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    let _in_flight = InFlight(in_flight);
                    peak.fetch_max(now, Ordering::SeqCst);
                    assert_eq!(request.version(), Version::HTTP_2, "h2c upstream");
                    tokio::time::sleep(delay).await;
                    answered.notify_one();
                    let text = format!("ok {}", request.uri().path());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
                }
            });
            let closed = closed_count.clone();
            tokio::spawn(async move {
                let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                if close_first && number == 0 {
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        () = answered.notified() => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                } else {
                    let _ = connection.await;
                }
                closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    H2Upstream {
        addr,
        accepted,
        closed,
        peak,
        requests,
        task,
    }
}

/// An h2c (prior knowledge) connection to the proxy's outbound listener.
async fn h2c_client(mesh: &Mesh) -> SendRequest<mesh_proxy::body::Body> {
    let stream = TcpStream::connect(mesh.outbound).await.expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2c handshake with the proxy");
    tokio::spawn(connection);
    sender
}

/// GET `url` over h2c through the proxy: (status, flags header, body).
async fn h2c_get(
    mut client: SendRequest<mesh_proxy::body::Body>,
    url: &str,
) -> (u16, String, String) {
    let request = Request::builder()
        .uri(url)
        .version(Version::HTTP_2)
        .body(mesh_proxy::body::empty())
        .expect("request");
    let response = client.send_request(request).await.expect("h2c response");
    assert_eq!(response.version(), Version::HTTP_2);
    let status = response.status().as_u16();
    let flags = flags(response.headers());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, flags, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn h2c_requests_share_one_upstream_connection() {
    let upstream = h2_upstream(Duration::from_millis(50), false).await;
    let mesh = Mesh::start(&[("ratings", vec![(upstream.addr, "v1")])], &[]).await;
    // Two callers, each on its own connection to the proxy.
    let clients = [h2c_client(&mesh).await, h2c_client(&mesh).await];

    // Ten at once, before any upstream connection exists: they wait for the same one.
    let first = futures::future::join_all((0..10).map(|i| {
        let client = clients[i % 2].clone();
        async move {
            let outcome = h2c_get(client, &format!("http://ratings:9080/first/{i}")).await;
            (i, outcome)
        }
    }))
    .await;
    for (i, (status, flags, body)) in first {
        assert_eq!(
            (status, flags.as_str(), body),
            (200, "", format!("ok /first/{i}")),
            "concurrent request {i}"
        );
    }
    assert!(
        upstream.peak.load(Ordering::SeqCst) >= 2,
        "the requests overlapped at the upstream"
    );

    // Ten more, one after the other, on the connection already open.
    for i in 0..10 {
        let client = clients[i % 2].clone();
        let (status, flags, body) = h2c_get(client, &format!("http://ratings:9080/then/{i}")).await;
        assert_eq!(
            (status, flags.as_str(), body),
            (200, "", format!("ok /then/{i}")),
            "request {i}"
        );
    }
    assert_eq!(
        upstream.accepted(),
        1,
        "every HTTP/2 request to the endpoint shares one connection"
    );
    assert_eq!(upstream.closed(), 0, "and it stays open");
}

#[tokio::test]
async fn a_closed_h2_connection_is_replaced() {
    let upstream = h2_upstream(Duration::ZERO, true).await;
    let mesh = Mesh::start(&[("ratings", vec![(upstream.addr, "v1")])], &[]).await;
    let client = h2c_client(&mesh).await;

    let (status, flags, body) = h2c_get(client.clone(), "http://ratings:9080/before").await;
    assert_eq!(
        (status, flags.as_str(), body.as_str()),
        (200, "", "ok /before")
    );
    upstream.wait_closed(1).await;

    for i in 0..5 {
        let (status, flags, body) =
            h2c_get(client.clone(), &format!("http://ratings:9080/after/{i}")).await;
        assert_eq!(
            (status, flags.as_str(), body),
            (200, "", format!("ok /after/{i}")),
            "request {i} after the upstream closed the connection"
        );
    }
    let concurrent = futures::future::join_all((0..5).map(|i| {
        let client = client.clone();
        async move { h2c_get(client, &format!("http://ratings:9080/together/{i}")).await }
    }))
    .await;
    for (i, (status, flags, body)) in concurrent.into_iter().enumerate() {
        assert_eq!(
            (status, flags.as_str(), body),
            (200, "", format!("ok /together/{i}")),
            "concurrent request {i}"
        );
    }
    assert_eq!(
        upstream.accepted(),
        2,
        "the closed connection is replaced once, and the new one is shared"
    );
    assert_eq!(upstream.closed(), 1, "the new connection stays open");
    let (_, stats) = mesh.admin_get("/stats").await;
    assert_eq!(
        support::stat(&stats, "retries"),
        0,
        "replacing the connection is no retry: {stats}"
    );
}

#[tokio::test]
async fn max_requests_per_connection_applies_to_http2() {
    let upstream = h2_upstream(Duration::ZERO, false).await;
    let destination_rule =
        ratings_dr("    connectionPool:\n      http:\n        maxRequestsPerConnection: 3");
    let mesh = Mesh::start(
        &[("ratings", vec![(upstream.addr, "v1")])],
        &[("ratings-dr.yaml", destination_rule)],
    )
    .await;
    let client = h2c_client(&mesh).await;

    for i in 0..9 {
        let (status, flags, body) =
            h2c_get(client.clone(), &format!("http://ratings:9080/seq/{i}")).await;
        assert_eq!(
            (status, flags.as_str(), body),
            (200, "", format!("ok /seq/{i}")),
            "request {i}"
        );
    }
    assert_eq!(
        upstream.accepted(),
        3,
        "9 requests, 3 per connection: {:?}",
        upstream.requests_per_connection()
    );
    assert_eq!(
        upstream.requests_per_connection(),
        [3, 3, 3],
        "no connection carries more than 3 requests"
    );
    // A replaced connection is closed once its last stream has ended; the newest stays open.
    upstream.wait_closed(2).await;
    assert_eq!(upstream.closed(), 2);
}

/// An h2c upstream that refuses every stream with `REFUSED_STREAM`: (address, connections
/// accepted, streams refused, task).
async fn refusing_upstream() -> (
    SocketAddr,
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
    JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (accepted_count, refused_count) = (accepted.clone(), refused.clone());
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            accepted_count.fetch_add(1, Ordering::SeqCst);
            let refused = refused_count.clone();
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(stream).await else {
                    return;
                };
                while let Some(Ok((_request, mut respond))) = connection.accept().await {
                    refused.fetch_add(1, Ordering::SeqCst);
                    respond.send_reset(h2::Reason::REFUSED_STREAM);
                }
            });
        }
    });
    (addr, accepted, refused, task)
}

#[tokio::test]
async fn refused_stream_is_503_ur() {
    let (addr, accepted, refused, task) = refusing_upstream().await;
    let mesh = Mesh::start(
        &[("ratings", vec![(addr, "v1")])],
        &[(
            "ratings.yaml",
            ratings_vs("      retries:\n        attempts: 0"),
        )],
    )
    .await;
    let client = h2c_client(&mesh).await;
    let (status, flags, _) = h2c_get(client, "http://ratings:9080/ratings/0").await;
    assert_eq!((status, flags.as_str()), (503, "UR"));
    assert_eq!(refused.load(Ordering::SeqCst), 1, "one attempt, refused");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    task.abort();
}

#[tokio::test]
async fn refused_streams_are_retried_by_default() {
    // No VirtualService: Istio's default policy retries refused streams twice.
    let (addr, accepted, refused, task) = refusing_upstream().await;
    let mesh = Mesh::start(&[("ratings", vec![(addr, "v1")])], &[]).await;
    let client = h2c_client(&mesh).await;
    let (status, flags, _) = h2c_get(client, "http://ratings:9080/ratings/0").await;
    assert_eq!((status, flags.as_str()), (503, "UR,URX"));
    assert_eq!(
        refused.load(Ordering::SeqCst),
        3,
        "the first attempt and two retries"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "a refused stream leaves the connection usable"
    );
    task.abort();
}
