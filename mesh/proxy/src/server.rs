//! Accept loop shared by the outbound and admin listeners: HTTP/1.1 with keep-alive and HTTP/2
//! cleartext (h2c with prior knowledge, what gRPC clients speak) on the same port, one task per
//! connection, and a graceful stop.
//!
//! hyper-util's `auto` builder reads the first bytes of a connection: the HTTP/2 preface
//! (`PRI * HTTP/2.0`) selects HTTP/2, anything else HTTP/1.1. So a listener needs no flag to
//! serve both. The caller's address goes into each request's extensions as [`ClientAddr`]
//! (`consistentHash.useSourceIp` hashes it).
//!
//! On shutdown the loop stops accepting, then waits (up to [`DRAIN`]) for requests already in
//! progress, so a restart does not cut answers in half.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long requests in progress get to finish after shutdown starts.
pub const DRAIN: Duration = Duration::from_secs(5);

/// The address of the peer that opened the connection, in every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Serve `handler` on `listener` until `shutdown`.
pub async fn serve<H, F, B>(listener: TcpListener, shutdown: CancellationToken, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
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
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ClientAddr(peer));
            // The request's whole life is a large future (every stage's state); boxed, it is
            // built in place once instead of being copied each time hyper moves it (into its
            // connection state, or into a task per HTTP/2 stream).
            let response = Box::pin(handler(request));
            async move { Ok::<_, Infallible>(response.await) }
        });
        let connection = graceful.watch(
            builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in progress after the drain time; closing");
    }
}
