//! Plumbing shared by every sailkit service, and nothing else: no domain types live here.
//!
//! Each Bookinfo service (and banner) is a small crate with a library and a thin binary. The
//! pieces they all need the same way are collected here so that each service's own code is
//! only about its own job.
//!
//! Layout:
//! - [`env`]: configuration from environment variables, read through a trait so tests pass a map.
//! - [`service`]: the [`service::Service`] trait and the `main` that every service binary shares
//!   (command line, telemetry, bind, run, exit codes); [`config_from_env!`], the part of each
//!   `impl Service` that reads the service's `Config`.
//! - [`server`]: serving an axum `Router` on a listener until shutdown, each request in a
//!   handler span joined to the caller's trace ([`server::span`]).
//! - [`shutdown`]: the signals that stop a service gracefully (Ctrl-C, SIGTERM, parent gone).
//! - [`telemetry`]: `tracing` set-up, human-readable or JSON, and the OpenTelemetry export of
//!   each instance's spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//! - [`propagation`]: the request headers a service copies onto the calls it makes, and the
//!   trace context read and written in W3C and B3 form ([`propagation::trace_context`]).
//! - [`http`]: JSON error bodies and the fallbacks that keep every error JSON.
//! - [`secret`]: cookie-signing secrets, checked for length and never logged.
//! - [`client`]: the pooled HTTP client the services use to call their peers, and the client
//!   span of each call ([`client::span`]).
//! - [`failed_hops`]: the failed hops a sidecar named in its answers to the peer calls, passed on
//!   as headers of the service's own answer, so the page a user gets leads to the cause.
//! - [`db`]: SQLite or PostgreSQL through sqlx, with embedded migrations run at start, and the
//!   span of each query ([`db::query_span`]).

pub mod client;
pub mod db;
pub mod env;
pub mod failed_hops;
pub mod http;
pub mod propagation;
pub mod secret;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod telemetry;

pub use env::{ConfigError, Env};
pub use service::Service;
pub use shutdown::Shutdown;
