//! Bookinfo's **productpage**: the web page of the book, and the front door of the application.
//!
//! A visit to `/productpage` asks three peers at once (details for the facts, reviews for the
//! opinions and their stars, banner for the promotion strip) and renders one HTML page from
//! whatever they answer. It is the service that shows a service mesh at work: which reviews
//! version answered (no stars, black or red stars), what an injected fault looks like to a user,
//! and, through the `end-user` header it adds after sign-in, who the routing rules match.
//!
//! ```text
//!            ┌──> details  GET /details/0
//! browser ──> productpage ──> reviews  GET /reviews/0 ──> ratings
//!            └──> banner   GET /api/v1/banners/active?platform=desktop&slot=1
//! ```
//!
//! Layout:
//! - [`config`]: the environment variables it reads.
//! - [`app`]: the shared state and the router that assembles every route.
//! - [`page`]: the HTML pages, `/` and `/productpage`.
//! - [`api`]: the JSON API under `/api/v1/products`.
//! - [`session`]: sign-in and sign-out, the signed cookie, the `end-user` header.
//! - [`clients`]: one small trait per peer, and their HTTP implementations (timeouts, retries).
//! - [`model`]: the JSON the peers send, as the page reads it.
//! - [`product`]: the one book productpage sells.
//! - [`metrics`]: `request_result_total` on `/metrics`.
//! - [`assets`]: the stylesheet and logo, built into the binary.
//! - [`error`]: the errors it answers with, and the status each maps to.
//!
//! The HTML lives in `templates/` (askama, checked at compile time), the CSS in `static/`.

pub mod api;
pub mod app;
pub mod assets;
pub mod clients;
pub mod config;
pub mod error;
pub mod metrics;
pub mod model;
pub mod page;
pub mod product;
pub mod session;

use tokio::net::TcpListener;

pub use app::{AppState, app};
pub use config::Config;

/// The productpage service, as the shared `main` and `sailkit serve productpage` run it.
pub struct Productpage;

impl common::Service for Productpage {
    const NAME: &'static str = "productpage";
    const ABOUT: &'static str =
        "Bookinfo productpage: the book's web page, built from details, reviews and banner";
    common::config_from_env!(Config, config::ENV_HELP);

    async fn run(
        listener: TcpListener,
        config: Config,
        shutdown: common::Shutdown,
    ) -> anyhow::Result<()> {
        let state = AppState::from_config(&config)?;
        common::server::serve_traced(listener, app(state), &config.tracing, shutdown).await
    }
}
