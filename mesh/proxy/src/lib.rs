//! `mesh-proxy`: the sailkit sidecar.
//!
//! A small HTTP proxy that sits beside each service and applies Istio's traffic management
//! (VirtualService routing, weighted subsets, redirects, mirroring, faults, timeouts, retries,
//! load balancing including consistent hashing, DestinationRule circuit breaking and outlier
//! detection) over HTTP/1.1, HTTP/2 cleartext and gRPC, from the same YAML a learner would
//! give Istio, compiled by `mesh-config`. The application needs no code change: it sends its
//! outgoing calls through the proxy as its `HTTP_PROXY`. Where the
//! instances of a service are, and their labels, comes from a registry file the launcher writes.
//! The proxy knows nothing of the Bookinfo services: the mesh never depends on what it carries.
//!
//! `main` is thin: it parses [`Settings`] and calls [`start()`], which binds the listeners and
//! calls [`run_with`]; tests call [`run`] the same way with listeners on port 0.
//!
//! # Layout
//! - `proxy`: [`Proxy`], what every listener shares, and the start path: [`bind`], [`run`],
//!   [`run_with`].
//! - `start`: the start path both binaries share (runtime, bind, run, exit status).
//! - `settings`: the command line (`--config-dir`, `--registry` or `--control-plane`,
//!   `--outbound`, `--admin`, `--label`, ...).
//! - `registry`: the registry file's types (services, endpoints, labels).
//! - `state`: the immutable [`state::Snapshot`] behind an `ArcSwap`, loaded "last good wins".
//! - `watch`: polls the config directory, the registry and the application's address file,
//!   reloads what changed.
//! - `control`: with `--control-plane`, the config and the endpoints come from the control
//!   plane over one gRPC stream instead (register, snapshots, ACK/NACK, reconnect).
//! - `server`: every listener's accept loop (HTTP/1.1 and h2c on one port, head and idle
//!   timeouts, a connection cap, graceful shutdown), from the shared `listener` crate.
//! - `outbound`: the outbound side, the whole life of a request in one function.
//! - `inbound`: the inbound side (`--inbound`, with `--app` or `--app-addr-file`): in front of
//!   the local application.
//! - `stage`: one file per concern: `route`, `fault`, `redirect`, `mirror`, `timeout`, `retry`,
//!   `circuit_breaker`, `balance`, `outlier`, `forward`, `access_log` (see
//!   `docs/proxy-lifecycle.md`).
//! - `flags`: [`flags::Flag`], Envoy's response flags (`UF`, `URX`, ...), and a request's
//!   [`flags::Flags`].
//! - `headers`: hop-by-hop header removal and header operations, the one implementation (the
//!   launcher's VIPs use it too).
//! - `error`: [`error::ProxyError`], every failure with its status, flag and culprit.
//! - `rescue`: the one place an error becomes a response; `failure`: what that response says
//!   about the hop that failed (caller, callee, instance, time spent, trace id).
//! - `trace`: distributed tracing: trace context in and out (W3C and B3), `x-request-id`,
//!   sampling, a span per request, OTLP export.
//! - `admin`: `/ready`, `/config_dump`, `/stats`; `admin_config`: the routes, clusters and
//!   endpoints of `/config_dump` (what `sailkit proxy-config` shows).
//! - `stats`: lock-free counters.
//! - `metrics`: Istio's standard metrics (`istio_requests_total` and the three histograms) with
//!   Istio's labels, each side reporting what it sees.
//! - `peer`: the caller's signed name (`x-sailkit-peer`): added going out, checked and removed
//!   coming in.
//! - `log_buffer`: access log lines collected in memory and written to stdout in batches.
//! - `body`: the boxed body type shared by all responses, `WatchedBody` (the one wrapper that
//!   acts when a response body ends: pool, circuit breaker, access log) and the caller's
//!   watched request body.

pub mod admin;
mod admin_config;
pub mod body;
pub mod control;
pub mod error;
pub mod failure;
pub mod flags;
pub mod headers;
pub mod inbound;
pub mod log_buffer;
pub mod metrics;
pub mod outbound;
pub mod peer;
pub mod pool;
pub mod proxy;
pub mod registry;
pub mod rescue;
pub mod server;
pub mod settings;
pub mod stage;
pub mod start;
pub mod state;
pub mod stats;
pub mod trace;
pub mod watch;

pub use proxy::{Listeners, Proxy, bind, run, run_with};
pub use settings::Settings;
pub use start::start;
