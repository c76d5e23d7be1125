//! HTTP/1.1 connections to upstreams, kept alive and reused.
//!
//! An HTTP/1.1 connection carries one request at a time, so a busy proxy keeps several open to
//! each endpoint. This pool is the simplest one that does the job:
//! - **idle connections** wait in a list per endpoint (`127.0.0.1:9101`); a request takes the
//!   last one put back (the warmest), or opens a new connection (10 s to connect, else `UF`);
//! - with a `maxRequestsPerConnection` limit, the request that reaches it carries
//!   `Connection: close` and its connection is not reused;
//! - a connection goes back to the list **when the response body has ended**, not before: until
//!   then it is still busy sending that body. A response the caller abandoned halfway leaves the
//!   connection in an unknown state, so it is closed instead;
//! - a connection idle for [`IDLE_TIMEOUT`], or closed by the upstream meanwhile, is dropped
//!   when next looked at;
//! - a request sent on a reused connection that turns out to have closed before the request was
//!   written (the upstream's idle timeout won the race) is sent again on a new connection: it
//!   never reached the upstream, so that is always safe.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{CONNECTION, HeaderValue};
use http::{Request, Response};
use hyper::body::{Body as HttpBody, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use super::{ConnectionPolicy, IDLE_TIMEOUT, PerEndpoint, connect_tcp};
use crate::body::{Body, BodyEnd, OnEnd, WatchedBody};
use crate::error::ProxyError;

/// A connection waiting for its next request.
struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
    /// Requests it has carried so far.
    served: u32,
}

/// Idle HTTP/1.1 connections, per endpoint.
#[derive(Default)]
pub struct Http1Pool {
    idle: Mutex<PerEndpoint<Vec<Idle>>>,
}

impl std::fmt::Debug for Http1Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http1Pool").finish_non_exhaustive()
    }
}

impl Http1Pool {
    /// Send `request` (origin form, with its `Host`) to `endpoint`, on connections that follow
    /// `policy` (requests per connection, connect timeout).
    pub async fn send(
        self: &Arc<Self>,
        endpoint: SocketAddr,
        request: Request<Body>,
        policy: ConnectionPolicy,
    ) -> Result<Response<Body>, ProxyError> {
        let max_requests = policy.max_requests;
        let mut request = request;
        // An idle connection may still be finishing its previous exchange for a moment (its
        // task has not run since the body ended): `ready` waits for that, or says it closed.
        if let Some((mut sender, served)) = self.take_idle(endpoint)
            && sender.ready().await.is_ok()
        {
            let served = served + 1;
            let reuse = mark_last(&mut request, served, max_requests);
            match sender.try_send_request(request).await {
                Ok(response) => {
                    return Ok(self.hand_back(endpoint, sender, response, reuse, served));
                }
                Err(mut error) => match error.take_message() {
                    // Never written: the connection had closed. Try a new one below.
                    Some(unsent) => request = unsent,
                    None => {
                        tracing::debug!(%endpoint, error = %error.error(), "upstream request failed");
                        return Err(ProxyError::UpstreamReset);
                    }
                },
            }
        }
        let mut sender = connect(endpoint, policy.connect_timeout).await?;
        let reuse = mark_last(&mut request, 1, max_requests);
        match sender.send_request(request).await {
            Ok(response) => Ok(self.hand_back(endpoint, sender, response, reuse, 1)),
            Err(error) => {
                tracing::debug!(%endpoint, %error, "upstream request failed");
                Err(ProxyError::UpstreamReset)
            }
        }
    }

    /// The warmest idle connection to `endpoint` that is still open, and how many requests it
    /// has carried.
    fn take_idle(&self, endpoint: SocketAddr) -> Option<(SendRequest<Body>, u32)> {
        let mut idle = self.idle.lock().ok()?;
        let waiting = idle.get_mut(&endpoint)?;
        while let Some(Idle {
            sender,
            since,
            served,
        }) = waiting.pop()
        {
            if !sender.is_closed() && since.elapsed() < IDLE_TIMEOUT {
                return Some((sender, served));
            }
        }
        None
    }

    /// The response, with a body that puts the connection back when it ends.
    fn hand_back(
        self: &Arc<Self>,
        endpoint: SocketAddr,
        sender: SendRequest<Body>,
        response: Response<Incoming>,
        reuse: bool,
        served: u32,
    ) -> Response<Body> {
        if !reuse {
            return response.map(http_body_util::BodyExt::boxed);
        }
        if response.body().is_end_stream() {
            // Nothing to read (an empty body): the connection is free now.
            self.put_back(endpoint, sender, served);
            return response.map(http_body_util::BodyExt::boxed);
        }
        let home = Home {
            pool: self.clone(),
            endpoint,
            sender,
            served,
        };
        response.map(|inner| http_body_util::BodyExt::boxed(WatchedBody::new(inner, home)))
    }

    fn put_back(&self, endpoint: SocketAddr, sender: SendRequest<Body>, served: u32) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.entry(endpoint).or_default().push(Idle {
                sender,
                since: Instant::now(),
                served,
            });
        }
    }
}

/// Is the connection, about to carry its `served`th request, to be reused afterwards? When
/// `max_requests` says this is its last, the request asks the upstream to close it
/// (`Connection: close`); otherwise any such header from an earlier try is taken off.
fn mark_last(request: &mut Request<Body>, served: u32, max_requests: Option<u32>) -> bool {
    let Some(max_requests) = max_requests else {
        return true;
    };
    let last = served >= max_requests;
    if last {
        request
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    } else {
        request.headers_mut().remove(CONNECTION);
    }
    !last
}

/// Open a connection to `endpoint` (within `timeout`) and start driving it.
async fn connect(endpoint: SocketAddr, timeout: Duration) -> Result<SendRequest<Body>, ProxyError> {
    let stream = connect_tcp(endpoint, timeout).await?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ProxyError::ConnectFailure)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%endpoint, %error, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}

/// Where a connection goes back to.
struct Home {
    pool: Arc<Http1Pool>,
    endpoint: SocketAddr,
    sender: SendRequest<Body>,
    served: u32,
}

/// A response body carries its connection's [`Home`] (a [`WatchedBody`] around it): the
/// connection goes back to the pool when the body has been read to its end, and is closed if
/// the body broke or was dropped halfway (what is left of it would be read as the next answer).
impl OnEnd for Home {
    fn on_end(self, end: BodyEnd, _bytes: u64) {
        if end == BodyEnd::Finished {
            self.pool.put_back(self.endpoint, self.sender, self.served);
        }
    }
}
