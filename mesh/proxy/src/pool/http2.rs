//! HTTP/2 connections to upstreams: one per endpoint, shared by every request to it.
//!
//! HTTP/2 multiplexes: many requests travel at once on one connection as separate streams, so
//! there is nothing to check out or give back. The pool keeps, per endpoint:
//! - **one connection**, opened by the first request that needs it (10 s to connect, else `UF`).
//!   Requests arriving meanwhile wait for that one instead of each opening their own;
//! - it is replaced when the upstream closed it (GOAWAY, a broken socket) or when it has
//!   carried `maxRequestsPerConnection` requests, and let go when unused for [`IDLE_TIMEOUT`].
//!   A connection let go closes once its last streams end (hyper closes it when the last
//!   request handle is dropped);
//! - a request the closing connection never sent is sent again on the new one: it never reached
//!   the upstream, so that is always safe.
//!
//! A stream the upstream refused (`REFUSED_STREAM`: it did not process the request, e.g. over
//! its concurrent-stream limit) is reported as [`ProxyError::RefusedStream`], which `retry` may
//! send again (`retryOn: refused-stream`); any other failure is an upstream reset (`UC`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::{ConnectionPolicy, IDLE_TIMEOUT, PerEndpoint, connect_tcp};
use crate::body::Body;
use crate::error::ProxyError;

/// One endpoint's connection, and the lock its (re)connection is made under.
#[derive(Default)]
struct Slot {
    live: Mutex<Option<Shared>>,
    /// Held while connecting, so concurrent requests share one new connection.
    connecting: tokio::sync::Mutex<()>,
    /// Connections opened so far: tells a connection's idle watch whether it was replaced.
    opened: AtomicU64,
}

/// A connection's request handle (cheap to clone), and when it was last used.
struct Shared {
    sender: SendRequest<Body>,
    last_used: Instant,
    /// Which of the slot's connections this is (`Slot::opened` when it was made).
    number: u64,
    /// Requests it has been given so far.
    served: u32,
}

/// One HTTP/2 connection per endpoint.
#[derive(Default)]
pub struct Http2Pool {
    slots: Mutex<PerEndpoint<Arc<Slot>>>,
}

impl std::fmt::Debug for Http2Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http2Pool").finish_non_exhaustive()
    }
}

impl Http2Pool {
    /// Send `request` (absolute URI: HTTP/2 sends its scheme and authority as pseudo-headers)
    /// to `endpoint` on its shared connection, which follows `policy` (requests per connection,
    /// connect timeout).
    pub async fn send(
        &self,
        endpoint: SocketAddr,
        request: Request<Body>,
        policy: ConnectionPolicy,
    ) -> Result<Response<Incoming>, ProxyError> {
        let slot = self.slot(endpoint);
        let mut request = request;
        if let Some(mut sender) = slot.sender(policy.max_requests) {
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(response),
                Err(mut error) => match error.take_message() {
                    // Never sent: the connection was closing. Send it on a new one below.
                    Some(unsent) => request = unsent,
                    None => return Err(failure(endpoint, error.error())),
                },
            }
        }
        let mut sender = slot.connect(endpoint, policy).await?;
        sender
            .send_request(request)
            .await
            .map_err(|error| failure(endpoint, &error))
    }

    /// The endpoint's slot, made on first use.
    fn slot(&self, endpoint: SocketAddr) -> Arc<Slot> {
        let Ok(mut slots) = self.slots.lock() else {
            // A panic elsewhere poisoned the map: work without sharing rather than fail.
            return Arc::default();
        };
        slots.entry(endpoint).or_default().clone()
    }
}

impl Slot {
    /// A handle on the live connection for one more request, if there is one still worth
    /// using (open, used lately, and under `max_requests`).
    fn sender(&self, max_requests: Option<u32>) -> Option<SendRequest<Body>> {
        let mut live = self.live.lock().ok()?;
        let shared = live.as_mut()?;
        if shared.sender.is_closed()
            || shared.last_used.elapsed() >= IDLE_TIMEOUT
            || max_requests.is_some_and(|n| shared.served >= n)
        {
            *live = None;
            return None;
        }
        shared.last_used = Instant::now();
        shared.served += 1;
        Some(shared.sender.clone())
    }

    /// A handle on a new connection, or on the one another request just opened.
    async fn connect(
        self: &Arc<Self>,
        endpoint: SocketAddr,
        policy: ConnectionPolicy,
    ) -> Result<SendRequest<Body>, ProxyError> {
        let _connecting = self.connecting.lock().await;
        if let Some(sender) = self.sender(policy.max_requests) {
            return Ok(sender);
        }
        let stream = connect_tcp(endpoint, policy.connect_timeout).await?;
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|error| {
                tracing::debug!(%endpoint, %error, "HTTP/2 handshake failed");
                ProxyError::ConnectFailure
            })?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%endpoint, %error, "upstream connection ended with an error");
            }
        });
        let number = self.opened.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut live) = self.live.lock() {
            *live = Some(Shared {
                sender: sender.clone(),
                last_used: Instant::now(),
                number,
                served: 1,
            });
        }
        tokio::spawn(watch_idle(Arc::downgrade(self), number));
        Ok(sender)
    }

    /// Let connection `number` go if it is idle (or already closed, or replaced): `true` once
    /// there is nothing left to watch.
    fn let_go_if_idle(&self, number: u64) -> bool {
        let Ok(mut live) = self.live.lock() else {
            return true;
        };
        match live.as_ref() {
            Some(shared) if shared.number == number => {
                let done = shared.sender.is_closed() || shared.last_used.elapsed() >= IDLE_TIMEOUT;
                if done {
                    *live = None;
                }
                done
            }
            _ => true,
        }
    }
}

/// Drop the pool's handle on connection `number` once it has been idle for [`IDLE_TIMEOUT`], so
/// a connection to an endpoint nobody calls any more does not stay open for ever.
async fn watch_idle(slot: Weak<Slot>, number: u64) {
    loop {
        tokio::time::sleep(IDLE_TIMEOUT / 2).await;
        match slot.upgrade() {
            Some(slot) if !slot.let_go_if_idle(number) => {}
            _ => return,
        }
    }
}

/// What a failed exchange means for the caller (see the module comment).
fn failure(endpoint: SocketAddr, error: &hyper::Error) -> ProxyError {
    tracing::debug!(%endpoint, %error, "upstream request failed");
    if refused_stream(error) {
        ProxyError::RefusedStream
    } else {
        ProxyError::UpstreamReset
    }
}

/// Did the upstream reset the stream with `REFUSED_STREAM`? The h2 error sits under hyper's.
fn refused_stream(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return h2.reason() == Some(h2::Reason::REFUSED_STREAM);
        }
        cause = e.source();
    }
    false
}
