//! Bookinfo's **ratings** service: how many stars each reviewer gave a book.
//!
//! reviews v2 and v3 call `GET /ratings/{id}` and turn the answer into black or red stars.
//! ratings is also Bookinfo's service *for breaking things*: its v2 reads a database, and its
//! fault variants fail or stall on purpose so that Istio's retries, timeouts, outlier
//! detection and dashboards have something to act on. `SERVICE_VERSION` picks one at start:
//!
//! | `SERVICE_VERSION` | ratings from          | misbehaviour                                     |
//! |-------------------|-----------------------|--------------------------------------------------|
//! | `v1` (default)    | memory (POST-able)    | none                                             |
//! | `v2`              | database, read-only   | none                                             |
//! | `v-faulty`        | memory                | half of the GETs answer 503                      |
//! | `v-delayed`       | memory                | half of the GETs answer after 7 s                |
//! | `v-unavailable`   | memory                | GETs answer 503 every other minute               |
//! | `v-unhealthy`     | memory                | GETs 503 and `/health` 500, every other 15 min   |
//!
//! Layout:
//! - [`config`]: the environment variables it reads, and the versions.
//! - [`model`]: a product's ratings, and how posted ratings are checked.
//! - [`store`]: where ratings live: memory or database.
//! - [`fault`]: when the fault variants misbehave.
//! - [`api`]: the HTTP routes and the state they share.
//! - [`error`]: every non-200 answer, and the status each maps to.

pub mod api;
pub mod config;
pub mod error;
pub mod fault;
pub mod model;
pub mod store;

use anyhow::Context;
use tokio::net::TcpListener;

pub use api::{AppState, app};
pub use config::{Config, Version};

/// The ratings service, as the shared `main` and `sailkit serve ratings` run it.
pub struct Ratings;

impl common::Service for Ratings {
    const NAME: &'static str = "ratings";
    const ABOUT: &'static str =
        "Bookinfo ratings service: star ratings as JSON on GET /ratings/{id}";
    common::config_from_env!(Config, config::ENV_HELP);

    async fn run(
        listener: TcpListener,
        config: Config,
        shutdown: common::Shutdown,
    ) -> anyhow::Result<()> {
        tracing::info!(version = %config.version, "ratings starting");
        let state = AppState::from_config(&config)
            .await
            .with_context(|| format!("ratings {} needs its database", config.version))?;
        common::server::serve_traced(listener, app(state), &config.tracing, shutdown).await
    }
}
