//! The stages of a request's life, one concern per file. `outbound` calls them in order; the
//! table in its doc (and `docs/proxy-lifecycle.md`) says which runs when, and why that order.
//!
//! - `route`: which VirtualService rule applies and which destination it picks (no I/O).
//! - `fault`: the rule's injected delay and abort.
//! - `redirect`: a `redirect` rule answered by the proxy, no upstream called.
//! - `mirror`: a fire-and-forget copy of the request to the rule's `mirror` destination.
//! - `timeout`: the rule's overall deadline, over every attempt.
//! - `retry`: attempts, per-try timeout and the conditions worth another try.
//! - `retry_budget`: the default cap on retries in progress per service (a share of its
//!   requests), so that retries cannot multiply an outage.
//! - `circuit_breaker`: `connectionPool` limits per destination; over them, 503 `UO`.
//! - `balance`: the endpoints of the chosen subset, and which one gets this attempt.
//! - `outlier`: `outlierDetection`, ejecting endpoints that keep failing (`balance` skips them).
//! - `forward`: the request rewritten for the upstream, sent on a pooled connection.
//! - `access_log`: one Envoy-like line per request, written when the response body ends.

pub mod access_log;
pub mod balance;
pub mod circuit_breaker;
pub mod fault;
pub mod forward;
pub mod mirror;
pub mod outlier;
pub mod redirect;
pub mod retry;
pub mod retry_budget;
pub mod route;
pub mod timeout;
