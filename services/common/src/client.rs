//! The HTTP client services use to call their peers.
//!
//! One pooled client per service: connections are kept alive and reused, which matters for
//! throughput. Timeouts are per call (Bookinfo gives each peer its own), so none is set here.
//!
//! The client honours `HTTP_PROXY`/`NO_PROXY` from the environment, as reqwest does by default.
//! That is how a sidecar proxy can be put in the path later without any change to this code.
//!
//! Peer names (`details`, `reviews`) are resolved by `netresolve`, in Rust, never by glibc:
//! the services' images hold static binaries, which cannot use glibc's NSS.

use std::time::Duration;

/// Builds the shared client. Fails only if the TLS or proxy settings in the environment are
/// unusable, which the caller reports as a configuration error.
pub fn build(service: &str) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(format!("sailkit-{service}/{}", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .dns_resolver(netresolve::reqwest_resolver(netresolve::Resolver::system()))
        .build()
}
