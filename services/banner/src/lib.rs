//! The **banner** service: a calendar of banner slots, and which banner shows in each one now.
//!
//! It began as a screen of a Rails monolith, where staff scheduled the banners of the mobile
//! and desktop sites. Then someone asked "couldn't other services use this?", and the screen
//! became a service with a JSON API: productpage asks it which banner is active in a slot, and
//! any other service could do the same. The screen came along: `/admin` is that calendar, for
//! people, on the same data.
//!
//! Each platform (`mobile`, `desktop`) has six slots. A banner occupies one slot for a half-open
//! time interval `[starts_at, ends_at)`, and two banners never overlap in the same slot. That
//! rule is enforced by the database itself (an exclusion constraint in PostgreSQL, triggers in
//! SQLite), so that two writers racing each other cannot break it.
//!
//! Who may write: one admin account, configured from the environment. The admin pages use a
//! signed session cookie with a CSRF token in every form; the JSON API takes HTTP Basic
//! credentials; reading banners and images needs nothing. Every write is recorded in an audit
//! log, in the same transaction.
//!
//! Layout:
//! - [`config`]: the environment variables it reads.
//! - [`model`]: the domain: banners, platforms, slots, and the checks on a request.
//! - [`store`]: the database: every query, the no-overlap rule's errors, one transaction per
//!   write.
//! - [`api`]: the JSON routes under `/api/v1/banners`, and `/health`.
//! - [`auth`]: the admin account, sessions, CSRF tokens, the sign-in rate limit, Basic auth.
//! - [`admin`]: the admin pages under `/admin`: the calendar and the banner forms.
//! - [`images`]: what an upload must be, and `/images/{id}`.
//! - [`audit`]: the audit log's entries and summaries.
//! - [`error`]: every error, and the status (and JSON or HTML page) each maps to.
//!
//! A note on names: [`Banner`] (this crate's root) is the *service*, as every service crate
//! names its service after itself; [`model::Banner`] is the banner *record*.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod images;
pub mod model;
pub mod store;

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use config::Config;
pub use error::Error;
pub use store::Store;

use auth::Auth;
use images::Uploads;

/// What every handler can reach: the database, authentication, and the upload settings.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Auth>,
    pub uploads: Arc<Uploads>,
}

impl AppState {
    /// The state for `config`, over an already-connected `store`.
    pub fn new(store: Store, config: &Config) -> Self {
        Self {
            store,
            auth: Arc::new(Auth::new(config)),
            uploads: Arc::new(Uploads {
                max_bytes: config.max_image_bytes,
                public_url: config.public_url.clone(),
            }),
        }
    }
}

/// The banner service's router: the JSON API, the images, the admin pages. The JSON fallbacks
/// come last, to cover every route.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .merge(api::router())
        .merge(images::router())
        .merge(admin::router(state.uploads.max_bytes));
    common::http::with_json_fallbacks(router).with_state(state)
}

/// The banner service, as the shared `main` and `sailkit serve banner` run it.
pub struct Banner;

impl common::Service for Banner {
    const NAME: &'static str = "banner";
    const ABOUT: &'static str = "Banner service: schedules banners into platform slots; JSON API \
                                 on /api/v1/banners, admin calendar on /admin";
    common::config_from_env!(Config, config::ENV_HELP);

    /// Connects to the database (running migrations) before serving, so the first request
    /// finds the schema ready. Connections arriving meanwhile wait in the listener's queue.
    async fn run(
        listener: TcpListener,
        config: Config,
        shutdown: common::Shutdown,
    ) -> anyhow::Result<()> {
        let store = Store::connect(&config.database_url).await?;
        let served = common::server::serve_traced(
            listener,
            app(AppState::new(store.clone(), &config)),
            &config.tracing,
            shutdown,
        )
        .await;
        store.close().await;
        served
    }
}
