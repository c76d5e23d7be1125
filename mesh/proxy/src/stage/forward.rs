//! Stage `forward`: turn the caller's request into the upstream's, and send it.
//!
//! The caller wrote to a proxy, in absolute form (`GET http://reviews:9080/reviews/0`); the
//! upstream expects origin form (`GET /reviews/0`) with `Host: reviews:9080`, so it cannot tell a
//! proxy was there. On the way:
//! - hop-by-hop headers (`Connection` and the ones it names, `Proxy-Connection`, `Keep-Alive`,
//!   `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authorization`) are dropped: they
//!   describe one connection, and the proxy opens its own;
//! - the rule's header operations are applied (remove, then set, then add, as Istio does);
//! - a body of known size up to [`MAX_BUFFERED`] is read into memory, so `retry` can send it
//!   again; a larger or streamed body goes through as it arrives, and is not retried.
//!
//! Connections come from hyper-util's pooled client: kept alive and reused across requests, so
//! the common case costs no TCP handshake. A failure to connect is 503 `UF`; a connection that
//! breaks before the response headers is 503 `UC`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mesh_config::model::HeaderOperations;

use crate::body::{self, Body};
use crate::error::ProxyError;
use crate::stage::route::Route;

/// Bodies up to this size (with a known length) are buffered, so they can be retried.
pub const MAX_BUFFERED: u64 = 64 * 1024;

/// The pooled HTTP/1.1 client towards upstreams.
pub type Client = PooledClient<HttpConnector, Body>;

/// A client with keep-alive and Envoy's connect timeout.
pub fn client() -> Client {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(10)));
    PooledClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// The request body, ready to be sent once or many times.
enum RequestBody {
    Buffered(Bytes),
    /// Taken by the first attempt.
    Streaming(Option<Incoming>),
}

/// The upstream request, minus the endpoint (each attempt may choose another one).
pub struct Outgoing {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: RequestBody,
}

impl Outgoing {
    /// Can this request be sent more than once?
    pub fn replayable(&self) -> bool {
        matches!(self.body, RequestBody::Buffered(_))
    }

    /// Request body size, when known (for the access log).
    pub fn body_len(&self) -> u64 {
        match &self.body {
            RequestBody::Buffered(bytes) => bytes.len() as u64,
            RequestBody::Streaming(body) => body
                .as_ref()
                .and_then(|b| b.size_hint().exact())
                .unwrap_or(0),
        }
    }
}

/// Remove the headers that belong to one connection only.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("proxy-connection"),
        HeaderName::from_static("keep-alive"),
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
}

/// Istio's order: remove, then set, then add. Names or values that are not valid HTTP are
/// skipped (the config loader already warned about them).
fn apply(operations: &[HeaderOperations], headers: &mut HeaderMap) {
    for ops in operations {
        for name in &ops.remove {
            headers.remove(name.as_str());
        }
        let valid = |(name, value): (&String, &String)| {
            Some((
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            ))
        };
        for (name, value) in ops.set.iter().filter_map(valid) {
            headers.insert(name, value);
        }
        for (name, value) in ops.add.iter().filter_map(valid) {
            headers.append(name, value);
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
    strip_hop_by_hop(&mut headers);
    let host = route.authority.as_deref().unwrap_or(authority);
    headers.insert(
        header::HOST,
        HeaderValue::from_str(host).map_err(|_| ProxyError::NoHost)?,
    );
    apply(&route.request_headers, &mut headers);
    let path_and_query = match (&route.path, parts.uri.query()) {
        (Some(path), Some(query)) => format!("{path}?{query}"),
        (Some(path), None) => path.clone(),
        (None, _) => parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
    };
    let small = incoming
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_BUFFERED);
    let body = if small {
        let bytes = incoming
            .collect()
            .await
            .map_err(|_| ProxyError::DownstreamBody)?
            .to_bytes();
        RequestBody::Buffered(bytes)
    } else {
        RequestBody::Streaming(Some(incoming))
    };
    Ok(Outgoing {
        method: parts.method,
        path_and_query,
        headers,
        body,
    })
}

/// Send one attempt to `endpoint`. `close`: ask for the connection to be closed after this
/// request instead of going back to the pool (`maxRequestsPerConnection`).
pub async fn send(
    client: &Client,
    outgoing: &mut Outgoing,
    endpoint: SocketAddr,
    close: bool,
) -> Result<Response<Incoming>, ProxyError> {
    let body = match &mut outgoing.body {
        RequestBody::Buffered(bytes) => body::full(bytes.clone()),
        RequestBody::Streaming(body) => body.take().map_or_else(body::empty, |b| b.boxed()),
    };
    let mut request = Request::new(body);
    *request.method_mut() = outgoing.method.clone();
    // An absolute URI tells the pool where to connect; hyper writes origin form on the wire.
    *request.uri_mut() = format!("http://{endpoint}{}", outgoing.path_and_query)
        .parse()
        .map_err(|_| ProxyError::NoHost)?;
    *request.headers_mut() = outgoing.headers.clone();
    if close {
        // hyper's client does not return a connection to the pool after a request that says
        // `Connection: close`.
        request
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    client.request(request).await.map_err(|error| {
        tracing::debug!(%endpoint, %error, "upstream request failed");
        if error.is_connect() {
            ProxyError::ConnectFailure
        } else {
            ProxyError::UpstreamReset
        }
    })
}

/// The upstream's response, made ready for the caller: hop-by-hop headers dropped, the rule's
/// response header operations applied; the body streams through.
pub fn respond(response: Response<Incoming>, route: &Route) -> Response<Body> {
    let (mut parts, incoming) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    apply(&route.response_headers, &mut parts.headers);
    Response::from_parts(parts, incoming.boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-hop"),
        );
        headers.insert("x-hop", HeaderValue::from_static("1"));
        headers.insert("proxy-connection", HeaderValue::from_static("keep-alive"));
        headers.insert("end-user", HeaderValue::from_static("jason"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["end-user"], "jason");
    }

    #[test]
    fn header_operations_in_istio_order() {
        let mut headers = HeaderMap::new();
        headers.insert("x-old", HeaderValue::from_static("1"));
        headers.insert("x-set", HeaderValue::from_static("before"));
        let ops = HeaderOperations {
            set: [("x-set".to_owned(), "after".to_owned())].into(),
            add: [("x-add".to_owned(), "added".to_owned())].into(),
            remove: vec!["x-old".to_owned()],
        };
        apply(&[ops], &mut headers);
        assert!(headers.get("x-old").is_none());
        assert_eq!(headers["x-set"], "after");
        assert_eq!(headers["x-add"], "added");
    }
}
