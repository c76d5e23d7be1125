//! Failed hops, passed on: what a service's answer says about the calls that failed behind it.
//!
//! When a sidecar answers a call itself (the peer is down, a fault aborted the call, a timeout),
//! its answer names the hop that failed: `x-sailkit-failed-hop`
//! (`reviews-v2 -> ratings:9080`), with `x-sailkit-flags`, `x-sailkit-elapsed-ms` and
//! `x-sailkit-trace-id` (see the proxy's `failure`). That answer reaches the service that made
//! the call, not the user: reviews shows "Ratings service is currently unavailable", productpage
//! renders that into a page, and the page answers 200. Without help, the user sees the text and
//! nothing that leads to the cause.
//!
//! So each service passes the facts on, in headers of its own answer, and the page (or the JSON)
//! a user gets stays exactly what it was:
//! 1. while a request is served, the failures its peer calls come back with are collected
//!    ([`scope::collect`], which the services' clients call on every answer they get);
//! 2. the answer gets them as headers ([`scope::pass_on`], which `server` runs around every
//!    request): one `x-sailkit-failed-hop` per failure, and in the same order one
//!    `x-sailkit-flags` and one `x-sailkit-elapsed-ms` (`-` where the failure did not say), then
//!    `x-sailkit-trace-id` once per trace.
//!
//! A peer's answer that passes on failures from further down carries the same headers, so it is
//! collected the same way: the chain productpage ← reviews ← ratings reaches the user whole.
//!
//! Layout:
//! - [`hops`]: the failures of one request, read from a peer's answer and written onto our own.
//! - [`scope`]: the request-scoped collector, a tokio task-local.

pub mod hops;
pub mod scope;

pub use hops::FailedHops;
pub use scope::{collect, pass_on};

/// The hop that failed, `<caller> -> <callee> (<instance>)`, one value per failure.
pub const FAILED_HOP: &str = "x-sailkit-failed-hop";
/// The Envoy response flags of each failure (`UF,URX`, `FI`).
pub const FLAGS: &str = "x-sailkit-flags";
/// The milliseconds the proxy spent on each failed call.
pub const ELAPSED_MS: &str = "x-sailkit-elapsed-ms";
/// The trace the failures belong to, to find their spans and access log lines.
pub const TRACE_ID: &str = "x-sailkit-trace-id";

/// The most failures (and trace ids) one answer carries. A request that fanned out to a broken
/// fleet keeps its first failures, which are the ones that lead to the cause, and its headers
/// stay small.
pub const MAX_FAILED_HOPS: usize = 8;
