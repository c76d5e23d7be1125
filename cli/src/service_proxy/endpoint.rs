//! One instance behind a VIP, and the flag the launcher sets when it is ready (or not).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::uri::Authority;

/// One instance behind a VIP (a pod behind a Kubernetes Service).
#[derive(Debug)]
pub struct Endpoint {
    name: String,
    addr: SocketAddr,
    /// `127.0.0.1:9102`, built once: every request reuses it instead of formatting it again.
    pub(super) authority: Authority,
    ready: AtomicBool,
}

impl Endpoint {
    /// An endpoint for the instance `name` listening on `addr`. It starts *not ready*: nothing
    /// is sent to it until [`Endpoint::set_ready`] says it passed its health check.
    pub fn new(name: impl Into<String>, addr: SocketAddr) -> Arc<Self> {
        let authority = Authority::try_from(addr.to_string().as_str())
            .expect("a socket address is a valid URI authority");
        Arc::new(Self {
            name: name.into(),
            addr,
            authority,
            ready: AtomicBool::new(false),
        })
    }

    /// Marks the instance ready (it answers `/health`) or not (it stopped or crashed).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}
