//! The three numbers that keep one listener safe from slow, idle and too many clients.

use std::time::Duration;

/// How long a client may take over a request head, how long a connection may sit idle, and how
/// many connections one listener holds at once.
///
/// The defaults, beside the two servers most of the web runs behind:
///
/// | setting         | sailkit | Envoy (HTTP connection manager) | nginx                         |
/// |-----------------|---------|---------------------------------|-------------------------------|
/// | request head    | 10 s    | `request_headers_timeout`: none | `client_header_timeout`: 60 s |
/// | idle keep-alive | 75 s    | `idle_timeout`: 1 h             | `keepalive_timeout`: 75 s     |
///
/// and at most 10,000 connections per listener.
///
/// Ten seconds is long for a head: a browser or a service sends one in a single packet. The
/// idle timeout is longer than the idle timeout of every pool that calls a sailkit listener (the
/// proxy's and the VIPs' pools keep a connection 30 s, the services' client 60 s), so the client
/// is the one that closes: a server that closes first races the client's next request on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest a client may take to send a whole request head (request line and headers),
    /// from its first byte; on a new connection, from the moment it was accepted.
    pub head_timeout: Duration,
    /// The longest a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Connections one listener serves at once; the next ones are refused with a 503.
    pub max_connections: u32,
}

impl Limits {
    pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            head_timeout: Self::DEFAULT_HEAD_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}
