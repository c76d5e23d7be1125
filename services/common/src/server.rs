//! Serving an axum router on a listener until shutdown.
//!
//! The caller binds the listener, which is what lets tests bind `127.0.0.1:0` and read the
//! port back, exactly as the binaries bind their configured port.
//!
//! Every accepted connection gets `TCP_NODELAY`: without it, the kernel holds back a small write
//! while an earlier one is unacknowledged (Nagle's algorithm), and a caller that multiplexes
//! several HTTP/2 streams on one connection (a sidecar's pooled connection) waits about a
//! millisecond per answer for the delayed acknowledgement.
//!
//! Each connection's peer address is recorded (axum's `ConnectInfo<SocketAddr>`), for handlers
//! that need to know who is calling, such as banner's limit on wrong passwords per address.

use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;

use crate::Shutdown;

/// Serves `app` on `listener` until `shutdown` is triggered, then waits for the requests in
/// flight to finish.
pub async fn serve(listener: TcpListener, app: Router, shutdown: Shutdown) -> io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await?;
    tracing::info!("stopped");
    Ok(())
}
