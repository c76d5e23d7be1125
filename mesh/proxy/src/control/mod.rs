//! The control plane as the source of config (`--control-plane URL`), instead of files.
//!
//! Istio's sidecars do not read YAML: the control plane (istiod) reads it, and every proxy
//! holds one gRPC stream to it over which whole configurations arrive. sailkit's proxy does the
//! same with the small protocol of `mesh/api/proto/sailkit/mesh/v1/mesh.proto`:
//!
//! 1. it opens the stream and says who it is (a `Register`: id, service, labels, address);
//! 2. each `Snapshot` it receives carries the Istio YAML files and every service's endpoints;
//!    it builds them exactly as it builds files read from disk, swaps them in whole, and
//!    answers `Ack`, or refuses them with a `Nack` that says why (the last good snapshot stays
//!    in force, as with a broken file);
//! 3. when the stream breaks it keeps serving with what it has and opens a new one, waiting
//!    longer after each failure.
//!
//! One file a job:
//! - `client`: the connect and reconnect loop, and what the log says when the link changes;
//! - `backoff`: how long to wait before the next attempt (exponential, with full jitter);
//! - `session`: one stream, from the `Register` to its end;
//! - `register`: who this proxy is, from the command line, and where peers reach it;
//! - `apply`: a snapshot turned into the proxy's state, or refused.

mod apply;
mod backoff;
mod client;
mod register;
mod session;

pub use client::run;

/// What `/config_dump` shows of the control plane (`source`), kept in the state snapshot.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// True while a stream is open.
    pub connected: bool,
    /// The `version` of the last snapshot applied (ACKed); `None` before the first.
    pub snapshot_version: Option<String>,
    /// The latest failure: the control plane unreachable, a broken stream, or a refused
    /// snapshot. Cleared when a snapshot is applied.
    pub last_error: Option<String>,
}
