//! Stage `forward`: turn the caller's request into the upstream's, and send it.
//!
//! The caller wrote to a proxy, in absolute form (`GET http://reviews:9080/reviews/0`); the
//! upstream expects origin form (`GET /reviews/0`) with `Host: reviews:9080`, so it cannot tell a
//! proxy was there. On the way:
//! - hop-by-hop headers (`Connection` and the ones it names, `Proxy-Connection`, `Keep-Alive`,
//!   `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authorization`) are dropped: they
//!   describe one connection, and the proxy opens its own. One exception: `TE: trailers` is kept
//!   towards an HTTP/2 upstream, since gRPC servers refuse a request without it
//!   ([`crate::headers::remove_hop_by_hop`]);
//! - the rule's header operations are applied (remove, then set, then add, as Istio does:
//!   [`crate::headers::apply_operations`]);
//! - a body of known size up to [`MAX_BUFFERED`] is read into memory, so `retry` can send it
//!   again (with its trailers, if any); a larger or streamed body goes through as it arrives, and
//!   is not retried.
//!
//! **Protocol to the upstream**: the one the request came in. A request that arrived over HTTP/2
//! (h2c, gRPC) goes out over HTTP/2 with prior knowledge, an HTTP/1.x one over HTTP/1.1. It is
//! the simplest honest rule: the proxy never has to guess whether an upstream speaks h2c, and a
//! gRPC call (which needs HTTP/2 trailers) stays HTTP/2 end to end. Bodies stream frame by frame
//! in both directions, so trailers such as `grpc-status` pass through untouched.
//!
//! Connections are kept alive and reused across requests ([`Clients`], the proxy's own pools in
//! `crate::pool`), so the common case costs no TCP handshake: HTTP/1.1 ones one request at a
//! time each, idle ones waiting per endpoint; HTTP/2 ones one per endpoint, shared by all its
//! requests. A failure to connect is 503 `UF`; a connection that breaks before the response
//! headers is 503 `UC`; an HTTP/2 stream the upstream refused (`REFUSED_STREAM`, it never
//! processed the request) is 503 `UR`.
//!
//! **Unless the caller broke it.** The caller's body is read through `body::CallerBody`,
//! which records how far it got. When an exchange fails because that body broke, the failure
//! is the caller's, whatever the upstream connection says: a malformed body is 400 `DPE`, a
//! caller gone halfway is `DC` (see `ProxyError::of_caller_body`). The same holds for a
//! buffered body that cannot be read whole in `prepare`. Those errors are never retried and
//! never count against the endpoint.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{Authority, PathAndQuery};
use http::{Method, Request, Response, Version};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};

use std::sync::Arc;

use crate::body::{self, Body, BodyProgress, BodyState, CallerBody};
use crate::error::ProxyError;
use crate::headers;
use crate::pool::{ConnectionPolicy, Http1Pool, Http2Pool};
use crate::stage::route::Route;

/// Bodies up to this size (with a known length) are buffered, so they can be retried.
pub const MAX_BUFFERED: u64 = 64 * 1024;

/// The connections towards upstreams: a request goes out in the protocol it came in.
#[derive(Clone, Default)]
pub struct Clients {
    /// HTTP/1.1: kept-alive connections, one request at a time on each.
    pub http1: Arc<Http1Pool>,
    /// HTTP/2 with prior knowledge (h2c): no upgrade dance, as gRPC clients do. One connection
    /// per endpoint carries all its requests.
    pub http2: Arc<Http2Pool>,
}

/// Both pools, empty: connections are opened when first needed.
pub fn client() -> Clients {
    Clients::default()
}

/// The request body, ready to be sent once or many times.
enum RequestBody {
    /// Data and trailers, read whole.
    Buffered(Bytes, Option<HeaderMap>),
    /// Taken by the first attempt.
    Streaming(Option<CallerBody>),
}

/// The upstream request, minus the endpoint (each attempt may choose another one).
pub struct Outgoing {
    method: Method,
    /// Shares the caller's request buffer unless the rule rewrote the path.
    path_and_query: PathAndQuery,
    headers: HeaderMap,
    body: RequestBody,
    /// How far the caller's streamed body has been read; `None` for a buffered one, read
    /// whole already (so the common case allocates nothing for it).
    progress: Option<Arc<BodyProgress>>,
    /// HTTP/2 when the request came in over HTTP/2, else HTTP/1.1.
    version: Version,
}

impl Outgoing {
    /// The protocol towards the upstream.
    pub fn version(&self) -> Version {
        self.version
    }

    /// A copy to send elsewhere (`mirror`), with another `Host`; `None` unless the body is
    /// buffered, since a streamed body can only be read once.
    pub fn copy_with_host(&self, host: HeaderValue) -> Option<Outgoing> {
        let RequestBody::Buffered(bytes, trailers) = &self.body else {
            return None;
        };
        let mut headers = self.headers.clone();
        headers.insert(header::HOST, host);
        Some(Outgoing {
            method: self.method.clone(),
            path_and_query: self.path_and_query.clone(),
            headers,
            body: RequestBody::Buffered(bytes.clone(), trailers.clone()),
            progress: None,
            version: self.version,
        })
    }

    /// The headers the upstream will see, to add one (`crate::peer`).
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The `Host` the upstream will see.
    pub fn host(&self) -> Option<&str> {
        self.headers.get(header::HOST).and_then(|h| h.to_str().ok())
    }

    /// Can this request be sent more than once?
    pub fn replayable(&self) -> bool {
        matches!(self.body, RequestBody::Buffered(..))
    }

    /// Is the proxy waiting for the caller to send more of its body? A deadline that passes
    /// then is the caller's slowness, not the upstream's.
    pub fn waiting_for_caller(&self) -> bool {
        self.progress
            .as_ref()
            .is_some_and(|p| p.get() == BodyState::WaitingForCaller)
    }

    /// The caller's failure, if its body broke.
    pub fn caller_failure(&self) -> Option<ProxyError> {
        ProxyError::of_caller_body(self.progress.as_ref()?.get())
    }

    /// Request body size, when known (for the access log).
    pub fn body_len(&self) -> u64 {
        match &self.body {
            RequestBody::Buffered(bytes, _) => bytes.len() as u64,
            RequestBody::Streaming(body) => body
                .as_ref()
                .and_then(|b| b.size_hint().exact())
                .unwrap_or(0),
        }
    }
}

/// Build the upstream request from the caller's: origin form, `Host` as the caller sent it (or
/// `rewrite.authority`), clean headers, a body that retries can resend.
pub async fn prepare(
    request: Request<Incoming>,
    authority: &str,
    route: &Route,
) -> Result<Outgoing, ProxyError> {
    let (parts, incoming) = request.into_parts();
    let mut headers = parts.headers;
    // The upstream hop speaks the version the request came in (see "Protocol to the upstream").
    headers::remove_hop_by_hop(&mut headers, parts.version);
    let host = route.authority.as_deref().unwrap_or(authority);
    headers.insert(
        header::HOST,
        HeaderValue::from_str(host).map_err(|_| ProxyError::NoHost)?,
    );
    headers::apply_operations(&route.request_headers, &mut headers);
    let rewritten = match (&route.path, parts.uri.query()) {
        (Some(path), Some(query)) => Some(format!("{path}?{query}")),
        (Some(path), None) => Some(path.clone()),
        (None, _) => None,
    };
    let path_and_query = match rewritten {
        Some(text) => PathAndQuery::try_from(text)
            .map_err(|_| ProxyError::Unsupported("the rewritten path is not a valid URI path"))?,
        None => parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    };
    let small = incoming
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_BUFFERED);
    let (body, progress) = if small {
        let collected = incoming.collect().await.map_err(|error| {
            ProxyError::of_caller_body(BodyState::of_read_error(&error))
                .unwrap_or(ProxyError::DownstreamDisconnect)
        })?;
        let trailers = collected.trailers().cloned();
        (RequestBody::Buffered(collected.to_bytes(), trailers), None)
    } else {
        let progress = BodyProgress::reading();
        let watched = CallerBody::new(incoming, progress.clone());
        (RequestBody::Streaming(Some(watched)), Some(progress))
    };
    Ok(Outgoing {
        method: parts.method,
        path_and_query,
        headers,
        body,
        progress,
        version: if parts.version == Version::HTTP_2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        },
    })
}

/// Send one attempt to `endpoint`, on connections with the default policy (see [`send_to`]).
pub async fn send(
    clients: &Clients,
    outgoing: &mut Outgoing,
    endpoint: SocketAddr,
) -> Result<Response<Body>, ProxyError> {
    let authority = authority_of(endpoint)?;
    send_to(
        clients,
        outgoing,
        endpoint,
        &authority,
        ConnectionPolicy::default(),
    )
    .await
}

/// Send one attempt to `endpoint`, whose address is also given as a URI authority (`authority`,
/// `127.0.0.1:9080`; the registry keeps one per endpoint). `policy`: the DestinationRule's say
/// on the upstream connections (`maxRequestsPerConnection`, counted by the pools, and
/// `connectTimeout`). A failure the caller's body caused is the caller's (see the module doc).
pub async fn send_to(
    clients: &Clients,
    outgoing: &mut Outgoing,
    endpoint: SocketAddr,
    authority: &Authority,
    policy: ConnectionPolicy,
) -> Result<Response<Body>, ProxyError> {
    let sent = exchange(clients, outgoing, endpoint, authority, policy).await;
    // The pools see only a broken exchange; the body's progress says who broke it.
    sent.map_err(|error| outgoing.caller_failure().unwrap_or(error))
}

/// The exchange itself, on the pool of the request's protocol.
async fn exchange(
    clients: &Clients,
    outgoing: &mut Outgoing,
    endpoint: SocketAddr,
    authority: &Authority,
    policy: ConnectionPolicy,
) -> Result<Response<Body>, ProxyError> {
    let body = match &mut outgoing.body {
        RequestBody::Buffered(bytes, trailers) => {
            body::with_trailers(bytes.clone(), trailers.clone())
        }
        RequestBody::Streaming(body) => body.take().map_or_else(body::empty, |b| b.boxed()),
    };
    let mut request = Request::new(body);
    *request.method_mut() = outgoing.method.clone();
    *request.version_mut() = outgoing.version;
    *request.headers_mut() = outgoing.headers.clone();
    if outgoing.version != Version::HTTP_2 {
        // HTTP/1.1: origin form on our own pool (the path is shared with the caller's request).
        *request.uri_mut() = http::Uri::from(outgoing.path_and_query.clone());
        return clients.http1.send(endpoint, request, policy).await;
    }
    // HTTP/2: an absolute URI, since HTTP/2 sends the scheme and authority as pseudo-headers;
    // built from parts, so nothing is re-parsed.
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(http::uri::Scheme::HTTP);
    uri.authority = Some(authority.clone());
    uri.path_and_query = Some(outgoing.path_and_query.clone());
    *request.uri_mut() = http::Uri::from_parts(uri).map_err(|_| ProxyError::NoHost)?;
    let response = clients.http2.send(endpoint, request, policy).await?;
    Ok(response.map(BodyExt::boxed))
}

/// `ip:port` as a URI authority, formatted on the stack.
fn authority_of(endpoint: SocketAddr) -> Result<Authority, ProxyError> {
    use std::io::Write as _;
    // The longest socket address text, `[ipv6%scope]:port`, fits easily.
    let mut buffer = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    write!(cursor, "{endpoint}").map_err(|_| ProxyError::NoHost)?;
    let len = usize::try_from(cursor.position()).map_err(|_| ProxyError::NoHost)?;
    Authority::try_from(&buffer[..len]).map_err(|_| ProxyError::NoHost)
}

/// The upstream's response, made ready for the caller: hop-by-hop headers dropped, the rule's
/// response header operations applied; the body streams through.
pub fn respond(response: Response<Body>, route: &Route) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers, parts.version);
    headers::apply_operations(&route.response_headers, &mut parts.headers);
    Response::from_parts(parts, body)
}
