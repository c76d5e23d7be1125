//! Connections to upstreams, kept alive and reused: the proxy's own pools, one per protocol.
//!
//! - [`Http1Pool`] (`http1.rs`): an HTTP/1.1 connection carries one request at a time, so a busy
//!   proxy keeps several open to each endpoint, idle ones waiting in a list;
//! - [`Http2Pool`] (`http2.rs`): an HTTP/2 connection carries many requests at once, so one
//!   connection per endpoint is shared by every request to it.
//!
//! Both are keyed by the endpoint's socket address, hashed with a fast non-cryptographic hash
//! (foldhash): the keys are addresses from our own registry, not attacker-chosen strings, and
//! the lookup happens on every request.

mod http1;
mod http2;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::error::ProxyError;

pub use http1::Http1Pool;
pub use http2::Http2Pool;

/// How long an unused connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take before the attempt fails with `UF`, unless a DestinationRule's
/// `connectionPool.tcp.connectTimeout` says otherwise (Envoy's default too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a DestinationRule's `connectionPool` says about the connections themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionPolicy {
    /// `http.maxRequestsPerConnection`: how many requests one connection may carry; `None` for
    /// no limit.
    pub max_requests: Option<u32>,
    /// `tcp.connectTimeout`: how long connecting may take.
    pub connect_timeout: Duration,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        ConnectionPolicy {
            max_requests: None,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }
}

/// A map from endpoint to its connections.
type PerEndpoint<V> = HashMap<SocketAddr, V, foldhash::fast::RandomState>;

/// Open a TCP connection to `endpoint`, within `timeout`; small requests and answers are sent
/// at once (no Nagle delay).
async fn connect_tcp(endpoint: SocketAddr, timeout: Duration) -> Result<TcpStream, ProxyError> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(endpoint)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%endpoint, %error, "cannot connect");
            return Err(ProxyError::ConnectFailure);
        }
        Err(_) => {
            tracing::debug!(%endpoint, ?timeout, "connect timed out");
            return Err(ProxyError::ConnectFailure);
        }
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
