//! The **monolith**: the whole app in one process, one listener and one database. The "before"
//! of the story.
//!
//! The talk the kit follows begins with a Rails monolith: one application, one deploy, one
//! database, whose banner-management screen grew until someone asked "couldn't other services
//! use this?". This crate is that starting point, built from the very same code as the split
//! services: it links the libraries of productpage, details, reviews, ratings and banner, and
//! connects them with **in-process clients** instead of HTTP. It holds no domain logic of its
//! own, only wiring, so that the monolith and the services can never disagree about what the
//! app does; what differs is only how the parts reach each other.
//!
//! ```text
//!                     ┌─────────────── monolith: one process ───────────────┐
//!                     │                                                     │
//!  browser ─> :9080 ─>│ productpage ──┬─> details      function calls,      │
//!                     │               ├─> reviews ─> ratings v1 (memory)    │
//!                     │               └─> banner ─┐  no network             │
//!                     │                           ├─> one database          │
//!                     │ banner: API, admin, images┘   (monolith.db)         │
//!                     └─────────────────────────────────────────────────────┘
//! ```
//!
//! One version of each part: reviews is v2 (black stars) unless `ENABLE_RATINGS`/`STAR_COLOR`
//! say otherwise, for the whole process; ratings is v1. Refreshing the page never changes the
//! stars: there is nothing to route between.
//!
//! Layout:
//! - [`config`]: the libraries' configurations, read from one environment, with the monolith's
//!   few different defaults.
//! - [`in_process`]: the in-process implementation of every peer trait (the other one is HTTP,
//!   in each service's `clients.rs`).
//! - [`app`](mod@app): the wiring ([`Wiring::new`]) and the one router.
//! - [`routes`]: which library answers which path.

pub mod app;
pub mod config;
pub mod in_process;
pub mod routes;

use tokio::net::TcpListener;

pub use app::{Wiring, app};
pub use config::Config;

/// The monolith, as its own binary and `sailkit serve monolith` run it.
pub struct Monolith;

impl common::Service for Monolith {
    const NAME: &'static str = "monolith";
    const ABOUT: &'static str = "The whole Bookinfo + banner app in one process: productpage, \
        details, reviews, ratings and banner wired in-process over one database";
    common::config_from_env!(Config, config::ENV_HELP);

    /// Opens the one database (running banner's migrations) before serving, as banner does.
    async fn run(
        listener: TcpListener,
        config: Config,
        shutdown: common::Shutdown,
    ) -> anyhow::Result<()> {
        tracing::info!(
            ratings = config.reviews.enable_ratings,
            star_color = %config.reviews.star_color,
            "monolith starting: every part in this process"
        );
        let store = banner::Store::connect(&config.banner.database_url).await?;
        let wiring = Wiring::new(&config, store.clone());
        let served =
            common::server::serve_traced(listener, app(wiring), &config.tracing, shutdown).await;
        store.close().await;
        served
    }
}
