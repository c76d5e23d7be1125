//! How every listener of the proxy (outbound, inbound, admin; a gateway's outbound too) serves
//! its connections: through the shared `listener` crate, which speaks HTTP/1.1 with keep-alive
//! and HTTP/2 cleartext (h2c with prior knowledge, what gRPC clients speak) on the same port,
//! closes connections that send no request head in time or sit idle (`--header-timeout-ms`,
//! `--idle-timeout-ms`), refuses connections past `--max-connections` with a 503, and drains
//! gracefully on shutdown.
//!
//! What this file adds is the proxy's side of it: the caller's address goes into each request's
//! extensions as [`ClientAddr`] (`consistentHash.useSourceIp` hashes it), and each request's
//! life is boxed (see below).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use listener::Limits;

/// The address of the peer that opened the connection, in every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Serve `handler` on `tcp` within `limits` until `shutdown`.
pub async fn serve<H, F, B>(
    tcp: TcpListener,
    limits: Limits,
    shutdown: CancellationToken,
    handler: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    listener::serve(tcp, limits, shutdown, move |peer| {
        let handler = handler.clone();
        service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ClientAddr(peer));
            // The request's whole life is a large future (every stage's state); boxed, it is
            // built in place once instead of being copied each time hyper moves it (into its
            // connection state, or into a task per HTTP/2 stream).
            let response = Box::pin(handler(request));
            async move { Ok::<_, Infallible>(response.await) }
        })
    })
    .await;
}
