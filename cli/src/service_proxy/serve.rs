//! Phase 1: the VIP's listener. The shared `listener` crate accepts the connections, as it does
//! for the services and the sidecars, with its timeouts and cap ([`Limits`]).

use std::convert::Infallible;
use std::sync::Arc;

use hyper::service::service_fn;
use listener::Limits;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::forward::ServiceProxy;

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
