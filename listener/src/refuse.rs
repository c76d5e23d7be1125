//! Over the cap: the connection is answered 503 at once and closed, and an operator is told,
//! at most once every [`WARN_EVERY`].
//!
//! The answer is written without waiting (`try_write`): a listener under a flood must not spend
//! a task, nor a moment, on a connection it has no room for. Whatever the client already sent is
//! read first, so the close is a clean FIN rather than a reset that could destroy the answer in
//! flight; a client that connects and waits (as most do) reads the 503 and then the end.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// How often, at most, the warning about refused connections is logged.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// The whole answer to a refused connection, HTTP/1.1 because no request was read.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
content-length: 49\r\n\
retry-after: 1\r\n\
connection: close\r\n\
\r\n\
{\"error\":\"too many connections, try again later\"}";

/// Answers `stream` 503 and closes it.
pub(crate) fn refuse(stream: TcpStream) {
    let mut already_sent = [0u8; 4096];
    let _ = stream.try_read(&mut already_sent);
    let _ = stream.try_write(REFUSAL);
}

/// Counts refused connections and logs them, rate-limited.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    local: Option<SocketAddr>,
    max_connections: u32,
    refused: u64,
    last_warning: Option<Instant>,
}

impl RefusalLog {
    pub(crate) fn new(local: Option<SocketAddr>, max_connections: u32) -> Self {
        Self {
            local,
            max_connections,
            refused: 0,
            last_warning: None,
        }
    }

    /// One more connection refused; warns if the last warning is old enough.
    pub(crate) fn refused(&mut self) {
        self.refused += 1;
        if self
            .last_warning
            .is_some_and(|at| at.elapsed() < WARN_EVERY)
        {
            return;
        }
        tracing::warn!(
            listener = ?self.local,
            max_connections = self.max_connections,
            refused = self.refused,
            "connection cap reached: new connections are answered 503 and closed \
             (refused: since the last warning)"
        );
        self.refused = 0;
        self.last_warning = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::REFUSAL;

    #[test]
    fn the_refusal_says_its_own_length() {
        let text = std::str::from_utf8(REFUSAL).expect("ASCII");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
