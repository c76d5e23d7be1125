//! `sailkit-dashboard`, the library behind `sailkit dashboard`: the kit's Kiali and Jaeger in
//! one small server, with server-rendered pages (askama), no JavaScript framework and nothing
//! loaded from elsewhere.
//!
//! - [`metrics`]: Istio's standard metrics, scraped from the sidecars by the dashboard itself
//!   ([`metrics::scrape`], with its own Prometheus text reader and `histogram_quantile`) or
//!   asked of a Prometheus server with Kiali's queries ([`metrics::prometheus`]).
//! - [`graph`]: the service graph both sources give ([`graph::model`], `/api/graph`) and its
//!   layered drawing ([`graph::layout`]).
//! - [`traces`]: an OTLP gRPC trace receiver and the bounded in-memory store of recent traces.
//! - [`routing`]: the VirtualServices and DestinationRules in force for a workload, asked of
//!   the control plane.
//! - [`logs`]: a trace's access log lines, from the tails of the proxies' log files.
//! - `web`: the pages: `/`, `/traces`, `/traces/{id}`, `/workloads/{namespace}/{name}`.
//!
//! [`start`] starts it all and hands back the bound addresses; [`main`] is `sailkit dashboard`.

mod args;
pub mod graph;
pub mod logs;
pub mod metrics;
pub mod routing;
mod start;
pub mod traces;
mod web;

pub use args::{DASHBOARD_AFTER_HELP, DashboardArgs, main};
pub use metrics::MetricsSource;
pub use start::{Config, Running, StartError, start};
pub use traces::store::Caps;
