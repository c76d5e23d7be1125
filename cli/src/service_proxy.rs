//! A service "VIP": one stable address for a service, spreading requests over its instances.
//!
//! ## What this stands in for
//! In Kubernetes, a Service gets a virtual IP (its ClusterIP) and a port. Clients only ever call
//! that address; kube-proxy, on every node, makes the kernel send each new *connection* to one of
//! the *ready* pods behind the Service (the Service's endpoints). Pods come and go, the address
//! stays. `sailkit up` gives each service such an address, on a port of 127.0.0.1, and this
//! module is the kube-proxy behind it.
//!
//! ## Why layer 7, once per request
//! kube-proxy works at layer 4: it picks a pod once per TCP connection and then only moves bytes.
//! Our services keep pooled keep-alive connections to their peers, so with per-connection
//! balancing a productpage would stay on whichever reviews instance its first connection
//! reached, and refreshing the page would show the same stars again and again. Here the proxy
//! speaks HTTP and picks an instance for every *request*, so even a pooled client spreads its
//! requests: refreshing the page cycles no stars (reviews-v1), black stars (v2), red stars (v3).
//! Telling this apart from a mesh, which also balances per request, is a later chapter.
//!
//! ## The life of a request (the phase names are the function names below)
//! ```text
//!  client ──► [1 accept] ──► [2 pick] ──► [3 rewrite] ──► [4 forward] ──► instance
//!                              │                              │
//!                              └──── [5 rescue]: 503 / 502 / 400 ◄──┘
//! ```
//! 1. **accept** ([`serve`]): a connection to the VIP; HTTP/1.1 (or HTTP/2) is spoken on it.
//!    The shared `listener` crate accepts it, as it does for the services and the sidecars: a
//!    client that sends no request head in time, or stays idle too long, loses its connection,
//!    and past the cap on connections a new one is answered 503 (see [`Limits`]).
//! 2. **pick** (`ServiceProxy::pick`): round robin over the endpoints that are ready. One atomic
//!    add chooses the next one: no lock, whatever the number of requests in flight.
//! 3. **rewrite** (`upstream_request`): the request is addressed to the instance
//!    and the hop-by-hop headers, which describe only the connection they came on, are removed
//!    (by `mesh_proxy::headers::remove_hop_by_hop`, the sidecar's own rule: one implementation).
//!    Nothing is added: no `X-Forwarded-For`, the `Host` header is the client's.
//! 4. **forward** ([`ServiceProxy::forward`]): a pooled client with keep-alive connections to
//!    each instance sends it. Bodies are streamed, in both directions, never buffered.
//! 5. **rescue** (the `Either::Right` answers): no ready instance is a 503; an instance that
//!    cannot be reached is a 502. A *connect* error is tried once on the next instance, because
//!    then nothing was sent and the request can safely go elsewhere. A request whose own body
//!    is broken (a bad chunk, a client that hung up) is the client's fault, not the instance's:
//!    400. The answers name the service only; which instance failed, at which address and why
//!    goes to the log, never to the client.
//!
//! Readiness is not this module's business: like kube-proxy, which follows the endpoints that
//! the kubelet's probes mark ready, it only reads the flag that the launcher sets on each
//! [`Endpoint`] (ready once `/health` answered, not ready as soon as the process exits).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use http::{Request, Response, StatusCode, Version};
use http_body_util::{Either, Empty, Full};
use hyper::body::{Body as _, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use mesh_proxy::headers::remove_hop_by_hop;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use listener::Limits;

/// The body sent to an instance: the client's own body, streamed, or nothing at all. A request
/// without a body is sent with [`Empty`] so that it can be sent a second time (see `forward`).
type UpstreamBody = Either<ClientBody, Empty<Bytes>>;

/// The body of an answer: the instance's body, streamed, or one of our own error bodies.
pub type ResponseBody = Either<Incoming, Full<Bytes>>;

/// One instance behind a VIP (a pod behind a Kubernetes Service).
#[derive(Debug)]
pub struct Endpoint {
    name: String,
    addr: SocketAddr,
    /// `127.0.0.1:9102`, built once: every request reuses it instead of formatting it again.
    authority: Authority,
    ready: AtomicBool,
}

impl Endpoint {
    /// An endpoint for the instance `name` listening on `addr`. It starts *not ready*: nothing
    /// is sent to it until [`Endpoint::set_ready`] says it passed its health check.
    pub fn new(name: impl Into<String>, addr: SocketAddr) -> Arc<Self> {
        let authority = Authority::try_from(addr.to_string().as_str())
            .expect("a socket address is a valid URI authority");
        Arc::new(Self {
            name: name.into(),
            addr,
            authority,
            ready: AtomicBool::new(false),
        })
    }

    /// Marks the instance ready (it answers `/health`) or not (it stopped or crashed).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The proxy behind one service's VIP.
#[derive(Debug)]
pub struct ServiceProxy {
    service: String,
    endpoints: Box<[Arc<Endpoint>]>,
    /// The round-robin counter: each request takes the next value. It only ever grows (and
    /// wraps), and `value % endpoints` is the turn.
    next: AtomicUsize,
    /// Keeps idle connections to each instance open for the next requests: connecting is far
    /// dearer than the request itself on loopback.
    client: Client<HttpConnector, UpstreamBody>,
    /// The 503 body, built once.
    no_endpoint_body: Bytes,
    /// The 502 body, built once: it names the service, never an instance or an address.
    bad_gateway_body: Bytes,
}

impl ServiceProxy {
    /// A proxy for `service` over `endpoints`.
    pub fn new(service: impl Into<String>, endpoints: Vec<Arc<Endpoint>>) -> Arc<Self> {
        let service = service.into();
        let mut connector = HttpConnector::new();
        // Small requests and answers must leave at once, not wait for Nagle's algorithm.
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1024)
            .build(connector);
        let no_endpoint_body = error_body(&format!("no instance of {service} is available"));
        let bad_gateway_body = error_body(&format!("{service} did not answer"));
        Arc::new(Self {
            service,
            endpoints: endpoints.into_boxed_slice(),
            next: AtomicUsize::new(0),
            client,
            no_endpoint_body,
            bad_gateway_body,
        })
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn endpoints(&self) -> &[Arc<Endpoint>] {
        &self.endpoints
    }

    /// Phases 2 to 5 for one request: pick, rewrite, forward, rescue.
    pub async fn forward(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        let Some(first) = self.pick() else {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                self.no_endpoint_body.clone(),
            );
        };
        let (head, body) = request.into_parts();
        let http::request::Parts {
            method,
            uri,
            mut headers,
            ..
        } = head;
        let path = uri
            .into_parts()
            .path_and_query
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        // The pooled connections to the instances are HTTP/1.1 (see `upstream_request`).
        remove_hop_by_hop(&mut headers, Version::HTTP_11);

        // The client takes the request, and on a connect error it is gone. To be able to send
        // it to another instance we keep a copy of its head, but only when a second try is
        // possible at all: a body is a stream that can be read once, and a service with a
        // single instance has nowhere else to go. (The copy is cheap: header values and the
        // path are reference-counted slices of the bytes hyper read, not copies of them.)
        let replayable = body.is_end_stream();
        let retry =
            (replayable && self.endpoints.len() > 1).then(|| (headers.clone(), path.clone()));
        let client_failed = Arc::new(AtomicBool::new(false));
        let body = if replayable {
            Either::Right(Empty::new())
        } else {
            Either::Left(ClientBody {
                body,
                failed: client_failed.clone(),
            })
        };

        let endpoint = &self.endpoints[first];
        let request = upstream_request(endpoint, &method, path, headers, body);
        let error = match self.client.request(request).await {
            Ok(response) => return downstream_response(response),
            Err(error) => error,
        };
        if client_failed.load(Ordering::Relaxed) {
            return self.bad_request(endpoint, &error);
        }
        let Some((headers, path)) = retry.filter(|_| error.is_connect()) else {
            return self.bad_gateway(endpoint, &error);
        };
        let Some(second) = self.pick_after(first) else {
            return self.bad_gateway(endpoint, &error);
        };
        let endpoint = &self.endpoints[second];
        let request = upstream_request(
            endpoint,
            &method,
            path,
            headers,
            Either::Right(Empty::new()),
        );
        match self.client.request(request).await {
            Ok(response) => downstream_response(response),
            Err(error) => self.bad_gateway(endpoint, &error),
        }
    }

    /// Phase 2: the index of the next ready endpoint in turn, if any is ready.
    ///
    /// `fetch_add` hands every request its own turn even when many arrive at once on several
    /// threads. An endpoint that is not ready passes its turn to the next ready one along the
    /// ring (so, while one of three is down, its neighbour gets two turns in three: uneven, but
    /// simple, and it only lasts until the instance is back).
    fn pick(&self) -> Option<usize> {
        let count = self.endpoints.len();
        if count == 0 {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|offset| turn.wrapping_add(offset) % count)
            .find(|&i| self.endpoints[i].is_ready())
    }

    /// The next ready endpoint after `failed`, for the one retry of a connect error.
    fn pick_after(&self, failed: usize) -> Option<usize> {
        let count = self.endpoints.len();
        (1..count)
            .map(|offset| (failed + offset) % count)
            .find(|&i| self.endpoints[i].is_ready())
    }

    /// Phase 5, when the instance could not be reached or broke the exchange off. The client
    /// learns which service failed; the log, which instance, where, and why.
    fn bad_gateway(
        &self,
        endpoint: &Endpoint,
        error: &hyper_util::client::legacy::Error,
    ) -> Response<ResponseBody> {
        let reason = error_chain(error);
        tracing::warn!(
            service = %self.service,
            instance = %endpoint.name,
            address = %endpoint.addr,
            %reason,
            "bad gateway"
        );
        json_response(StatusCode::BAD_GATEWAY, self.bad_gateway_body.clone())
    }

    /// Phase 5, when the client's own body broke the exchange (a malformed chunk, a client that
    /// hung up): a 400, and no instance is blamed.
    fn bad_request(
        &self,
        endpoint: &Endpoint,
        error: &hyper_util::client::legacy::Error,
    ) -> Response<ResponseBody> {
        let reason = error_chain(error);
        tracing::info!(
            service = %self.service,
            instance = %endpoint.name,
            %reason,
            "the client's request body could not be read"
        );
        json_response(StatusCode::BAD_REQUEST, bad_body())
    }
}

/// The 400 body, the same for every service.
fn bad_body() -> Bytes {
    Bytes::from_static(br#"{"error":"the request body could not be read"}"#)
}

/// The client's request body on its way to an instance, which notes whether reading it failed:
/// when the exchange then fails, the client is the cause, not the instance.
#[derive(Debug)]
pub struct ClientBody {
    body: Incoming,
    failed: Arc<AtomicBool>,
}

impl hyper::body::Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Phase 3: the request as the instance gets it. Only the target changes (an absolute URI,
/// which tells the client where to connect; it sends the path alone on the wire) and the
/// version: the pooled connections to the instances are HTTP/1.1 whatever the client spoke.
fn upstream_request(
    endpoint: &Endpoint,
    method: &http::Method,
    path: PathAndQuery,
    headers: HeaderMap,
    body: UpstreamBody,
) -> Request<UpstreamBody> {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(endpoint.authority.clone());
    parts.path_and_query = Some(path);
    let mut request = Request::new(body);
    // Cannot fail: scheme, authority and path are all set, and each is valid on its own.
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    *request.method_mut() = method.clone();
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    request
}

/// Phase 4, on the way back: the instance's answer with its own hop-by-hop headers removed.
/// hyper frames the body for our client's connection (length or chunks) by itself.
fn downstream_response(response: Response<Incoming>) -> Response<ResponseBody> {
    let (mut head, body) = response.into_parts();
    remove_hop_by_hop(&mut head.headers, Version::HTTP_11);
    head.extensions.clear();
    Response::from_parts(head, Either::Left(body))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Right(Full::new(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `{"error": "<message>"}`, the error shape of every sailkit service.
fn error_body(message: &str) -> Bytes {
    Bytes::from(serde_json::json!({ "error": message }).to_string())
}

/// The error and its causes on one line: hyper's top-level errors ("client error (Connect)")
/// say little without the cause ("Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Phase 1: serves the VIP on `listener` until `shutdown` with the default [`Limits`], then
/// lets the requests in flight finish (up to a few seconds).
pub async fn serve(listener: TcpListener, proxy: Arc<ServiceProxy>, shutdown: CancellationToken) {
    serve_with(listener, proxy, Limits::default(), shutdown).await;
}

/// [`serve`], with the given head and idle timeouts and cap on connections.
///
/// Each connection gets its own task. The service function only clones an `Arc` per request:
/// the proxy itself is shared, and its future is stored inside hyper's connection state, not
/// boxed.
pub async fn serve_with(
    tcp: TcpListener,
    proxy: Arc<ServiceProxy>,
    limits: Limits,
    shutdown: CancellationToken,
) {
    listener::serve(tcp, limits, shutdown, move |_client| {
        let proxy = proxy.clone();
        service_fn(move |request| {
            let proxy = proxy.clone();
            async move { Ok::<_, Infallible>(proxy.forward(request).await) }
        })
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy_with(ready: &[bool]) -> Arc<ServiceProxy> {
        let endpoints = ready
            .iter()
            .enumerate()
            .map(|(i, &ready)| {
                let endpoint =
                    Endpoint::new(format!("e{i}"), SocketAddr::from(([127, 0, 0, 1], 1)));
                endpoint.set_ready(ready);
                endpoint
            })
            .collect();
        ServiceProxy::new("test", endpoints)
    }

    #[test]
    fn round_robin_takes_turns() {
        let proxy = proxy_with(&[true, true, true]);
        let picks: Vec<_> = (0..6).filter_map(|_| proxy.pick()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn endpoints_that_are_not_ready_are_skipped() {
        let proxy = proxy_with(&[true, false, true]);
        let picks: Vec<_> = (0..4).filter_map(|_| proxy.pick()).collect();
        assert!(!picks.contains(&1), "{picks:?}");
        assert_eq!(proxy.pick_after(0), Some(2));
        assert_eq!(proxy.pick_after(2), Some(0));
    }

    #[test]
    fn nothing_ready_means_no_pick() {
        assert_eq!(proxy_with(&[false, false]).pick(), None);
        assert_eq!(proxy_with(&[]).pick(), None);
        assert_eq!(proxy_with(&[true]).pick_after(0), None);
    }
}
