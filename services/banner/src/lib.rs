//! The **banner** service: a calendar of banner slots, and which banner shows in each one now.
//!
//! It began as a screen of a Rails monolith, where staff scheduled the banners of the mobile
//! and desktop sites. Then someone asked "couldn't other services use this?", and the screen
//! became a service with a JSON API: productpage asks it which banner is active in a slot, and
//! any other service could do the same.
//!
//! Each platform (`mobile`, `desktop`) has six slots. A banner occupies one slot for a half-open
//! time interval `[starts_at, ends_at)`, and two banners never overlap in the same slot. That
//! rule is enforced by the database itself (an exclusion constraint in PostgreSQL, triggers in
//! SQLite), so that two writers racing each other cannot break it.
//!
//! Layout:
//! - [`config`]: the environment variables it reads (`DATABASE_URL`).
//! - [`model`]: the domain: banners, platforms, slots, and the checks on a request.
//! - [`store`]: the database: every query, and the no-overlap rule's errors.
//! - [`api`]: the JSON routes under `/api/v1/banners`, and `/health`.
//! - [`error`]: every error, and the status each maps to.
//!
//! A note on names: [`Banner`] (this crate's root) is the *service*, as every service crate
//! names its service after itself; [`model::Banner`] is the banner *record*.

pub mod api;
pub mod config;
pub mod error;
pub mod model;
pub mod store;

use axum::Router;
use tokio::net::TcpListener;

pub use config::Config;
pub use error::Error;
pub use store::Store;

/// What every handler can reach. It holds only the store today; an admin UI would add its
/// sessions and image storage here.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
}

/// The banner service's router. Other route groups (such as a future admin UI) are merged here,
/// before the JSON fallbacks, which must come last to cover every route.
pub fn app(state: AppState) -> Router {
    let router = Router::new().merge(api::router());
    common::http::with_json_fallbacks(router).with_state(state)
}

/// The banner service, as the shared `main` and `sailkit serve banner` run it.
pub struct Banner;

impl common::Service for Banner {
    const NAME: &'static str = "banner";
    const ABOUT: &'static str =
        "Banner service: schedules banners into platform slots, JSON API on /api/v1/banners";
    const ENV_HELP: &'static str = config::ENV_HELP;
    type Config = Config;

    fn config(env: &dyn common::Env) -> Result<Config, common::ConfigError> {
        Config::from_env(env)
    }

    /// Connects to the database (running migrations) before serving, so the first request
    /// finds the schema ready. Connections arriving meanwhile wait in the listener's queue.
    async fn run(
        listener: TcpListener,
        config: Config,
        shutdown: common::Shutdown,
    ) -> anyhow::Result<()> {
        let store = Store::connect(&config.database_url).await?;
        let served = common::server::serve(
            listener,
            app(AppState {
                store: store.clone(),
            }),
            shutdown,
        )
        .await;
        store.close().await;
        Ok(served?)
    }
}
