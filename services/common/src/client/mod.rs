//! The HTTP client services use to call their peers.
//!
//! One client per service. By default its connections are kept alive and reused, which matters
//! for throughput. Timeouts are per call (Bookinfo gives each peer its own), so none is set here.
//!
//! Reuse has a cost where the platform balances connections rather than requests: compose's
//! DNS round robin (three containers behind the name `reviews`) and a Kubernetes Service without
//! a mesh both pick an instance when a connection opens, so a kept connection stays on one
//! instance for good. `PEER_CONNECTIONS=per-call` makes a new connection for each call, as
//! Bookinfo's own productpage does, so every call is balanced; see [`PeerConnections`].
//!
//! The client honours `HTTP_PROXY`/`NO_PROXY` from the environment, as reqwest does by default.
//! That is how a sidecar proxy can be put in the path later without any change to this code;
//! the sidecar balances each request, so behind it pooled connections lose nothing.
//!
//! Peer names (`details`, `reviews`) are resolved by `netresolve`, in Rust, never by glibc:
//! the services' images hold static binaries, which cannot use glibc's NSS.
//!
//! Each attempt of a call is a client span ([`span::PeerCall`]), whose context the request
//! carries to the peer. Each answer a peer gives goes through `failed_hops::collect`, so the
//! failed hops it names reach the service's own answer.

pub mod span;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::env::{self, ConfigError, Env};

/// `PEER_CONNECTIONS`: whether calls to peers reuse connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerConnections {
    /// `pooled` (the default): connections are kept alive and reused. Right behind a sidecar
    /// or a request-balancing front (the local stack's VIPs).
    #[default]
    Pooled,
    /// `per-call`: each call opens a connection and closes it after the answer. Right where
    /// the platform balances connections (DNS round robin, a Service without a mesh).
    PerCall,
}

impl PeerConnections {
    /// `PEER_CONNECTIONS`, `pooled` when unset.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        env::parse(env, "PEER_CONNECTIONS", PeerConnections::Pooled)
    }
}

impl FromStr for PeerConnections {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "pooled" => Ok(PeerConnections::Pooled),
            "per-call" => Ok(PeerConnections::PerCall),
            _ => Err("expected `pooled` or `per-call`".to_owned()),
        }
    }
}

impl fmt::Display for PeerConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerConnections::Pooled => "pooled",
            PeerConnections::PerCall => "per-call",
        })
    }
}

/// Builds the shared client. Fails only if the TLS or proxy settings in the environment are
/// unusable, which the caller reports as a configuration error.
pub fn build(service: &str, connections: PeerConnections) -> reqwest::Result<reqwest::Client> {
    // No idle connection kept means none is reused: each call connects, and so resolves the
    // name again and takes the instance the shuffled answer puts first.
    let idle_per_host = match connections {
        PeerConnections::Pooled => 256,
        PeerConnections::PerCall => 0,
    };
    reqwest::Client::builder()
        .user_agent(format!("sailkit-{service}/{}", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(idle_per_host)
        .dns_resolver(netresolve::reqwest_resolver(netresolve::Resolver::system()))
        .build()
}
