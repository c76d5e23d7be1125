//! The proxy behind one service's VIP, and one request through it: pick an instance, rewrite
//! the request for it, forward it, and rescue what fails (phases 2 to 5).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Version};
use http_body_util::{Either, Empty, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use mesh_proxy::headers::remove_hop_by_hop;

use super::client_body::ClientBody;
use super::endpoint::Endpoint;
use super::rescue::{error_body, json_response};
use super::rewrite::{downstream_response, upstream_request};

/// The body sent to an instance: the client's own body, streamed, or nothing at all. A request
/// without a body is sent with [`Empty`] so that it can be sent a second time (see `forward`).
pub(super) type UpstreamBody = Either<ClientBody, Empty<Bytes>>;

/// The body of an answer: the instance's body, streamed, or one of our own error bodies.
pub type ResponseBody = Either<Incoming, Full<Bytes>>;

/// The proxy behind one service's VIP.
#[derive(Debug)]
pub struct ServiceProxy {
    pub(super) service: String,
    pub(super) endpoints: Box<[Arc<Endpoint>]>,
    /// The round-robin counter: each request takes the next value. It only ever grows (and
    /// wraps), and `value % endpoints` is the turn.
    pub(super) next: AtomicUsize,
    /// Keeps idle connections to each instance open for the next requests: connecting is far
    /// dearer than the request itself on loopback.
    client: Client<HttpConnector, UpstreamBody>,
    /// The 503 body, built once.
    no_endpoint_body: Bytes,
    /// The 502 body, built once: it names the service, never an instance or an address.
    pub(super) bad_gateway_body: Bytes,
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
}
