//! `listener`: the accept loop that every sailkit listener runs, so that none of them can be
//! worn down by slow, idle or too many clients.
//!
//! The services (through `common::server`), the mesh proxy's outbound, inbound and admin
//! listeners, the ingress gateway and the launcher's service VIPs all serve HTTP through
//! [`serve`]. It depends on neither the services nor the mesh: both use it, and stay apart.
//!
//! What each listener gets:
//! - HTTP/1.1 with keep-alive and HTTP/2 cleartext (h2c with prior knowledge, as gRPC clients
//!   speak it) on one port: hyper-util's `auto` builder reads the first bytes of a connection
//!   and picks the protocol by the HTTP/2 preface;
//! - a request-head timeout and an idle keep-alive timeout per connection (`watchdog`), so a
//!   client that connects and sends nothing, or half a request line, gives its connection back;
//! - a cap on connections at once (a semaphore: one permit per connection); over it, the
//!   connection is answered 503 and closed (`refuse`), and a warning is logged, rate-limited;
//! - a graceful stop: on shutdown the loop stops accepting, tells every connection to finish
//!   what it is doing, and waits (up to [`DRAIN`]) until the last permit is back.
//!
//! [`raise_file_limit`] is for `main`: each connection is a file descriptor, and the soft limit
//! a shell hands its children (often 1,024) is far below what the cap allows.
//!
//! # Layout
//! - `limits`: [`Limits`], the three settings and their defaults (beside Envoy's and nginx's).
//! - `watchdog`: the per-connection clock for heads and idle time.
//! - `refuse`: the answer over the cap, and its rate-limited warning.
//! - `file_limit`: [`raise_file_limit`].

mod body;
mod file_limit;
mod limits;
mod refuse;
mod watchdog;

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, Version};
use hyper::body::{Body, Incoming};
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub use file_limit::raise_file_limit;
pub use limits::Limits;

use body::TrackedBody;
use watchdog::{Activity, WatchedStream};

/// How long requests in progress get to finish after shutdown starts.
pub const DRAIN: Duration = Duration::from_secs(5);

/// How long a connection closed by its watchdog gets to say goodbye (an HTTP/2 GOAWAY).
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serves every connection `listener` accepts until `shutdown`, within `limits`.
///
/// `make_service` is called once per connection with the client's address and gives the
/// hyper service that answers that connection's requests.
pub async fn serve<M, S, B>(
    listener: TcpListener,
    limits: Limits,
    shutdown: CancellationToken,
    mut make_service: M,
) where
    M: FnMut(SocketAddr) -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The watchdog times heads instead (see `watchdog` for why hyper's own clock is not used).
    builder.http1().header_read_timeout(None);
    let connections = Arc::new(Semaphore::new(limits.max_connections as usize));
    let mut refusals = refuse::RefusalLog::new(listener.local_addr().ok(), limits.max_connections);
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            refuse::refuse(stream);
            refusals.refused();
            continue;
        };
        spawn_connection(
            &builder,
            stream,
            make_service(peer),
            limits,
            &shutdown,
            permit,
        );
    }
    // Stop accepting (the listener closes here), then wait until every connection has given
    // its permit back: all of them are then closed.
    drop(listener);
    if tokio::time::timeout(DRAIN, connections.acquire_many(limits.max_connections))
        .await
        .is_err()
    {
        tracing::warn!("requests still in progress after the drain time; closing");
    }
}

/// Serves one connection in a task of its own, until it ends, its watchdog fires, or shutdown
/// starts. The permit is held until the very end, so the cap counts connections, not requests.
fn spawn_connection<S, B>(
    builder: &auto::Builder<TokioExecutor>,
    stream: TcpStream,
    service: S,
    limits: Limits,
    shutdown: &CancellationToken,
    permit: OwnedSemaphorePermit,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    // Small answers must leave at once, not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(WatchedStream::new(stream, activity.clone()));
    // Each request holds an in-flight guard until its answer's body is done (sent or dropped).
    let requests = activity.clone();
    let service = service_fn(move |request: Request<Incoming>| {
        let in_flight = requests.begin(request.version() == Version::HTTP_2);
        let response = service.call(request);
        async move {
            let response = response.await?;
            Ok::<_, S::Error>(response.map(|body| TrackedBody::new(body, in_flight)))
        }
    });
    let connection = builder.serve_connection(io, service).into_owned();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let mut connection = pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = activity.expired(limits) => {
                tracing::debug!("closing a connection with no complete request head in time, or idle");
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(CLOSE_GRACE, connection.as_mut()).await {
                    Ok(result) => result,
                    Err(_) => return,
                }
            }
            () = shutdown.cancelled() => {
                // Idle connections close now; one with a request in flight after its answer.
                connection.as_mut().graceful_shutdown();
                connection.as_mut().await
            }
        };
        if let Err(error) = result {
            // A client that goes away mid-request is its own business, not an error of ours.
            tracing::debug!(%error, "connection ended with an error");
        }
    });
}
