//! Bookinfo's **reviews** service: two reviews of the book, with or without star ratings.
//!
//! productpage calls `GET /reviews/{id}` and shows the answer under "Book Reviews". reviews is
//! the service with *versions*, which is what makes it the star of Istio's traffic-management
//! tasks. One binary plays all three, chosen by environment variables:
//!
//! | version | `ENABLE_RATINGS` | `STAR_COLOR` | what the page shows             |
//! |---------|------------------|--------------|---------------------------------|
//! | v1      | false            | (black)      | no stars; never calls ratings   |
//! | v2      | true             | black        | black stars, from ratings       |
//! | v3      | true             | red          | red stars, from ratings         |
//!
//! With ratings enabled, reviews calls `GET /ratings/{id}` on the ratings service, copying the
//! trace headers and `end-user` from the request it is serving. If ratings cannot answer,
//! reviews still answers 200: each review then carries an error object instead of stars.
//!
//! Layout:
//! - [`config`]: the environment variables it reads, and the ratings timeout they imply.
//! - [`review`]: the two reviews and the JSON body built from them.
//! - [`clients`]: how reviews reaches ratings, behind the [`clients::RatingsClient`] trait.
//! - [`api`]: the HTTP routes and the state they share.
//! - [`error`]: the errors a client can cause, and the status each maps to.

pub mod api;
pub mod clients;
pub mod config;
pub mod error;
pub mod review;

use tokio::net::TcpListener;

pub use api::{AppState, app};
pub use config::Config;

/// The reviews service, as the shared `main` and `sailkit serve reviews` run it.
pub struct Reviews;

impl common::Service for Reviews {
    const NAME: &'static str = "reviews";
    const ABOUT: &'static str = "Bookinfo reviews service: book reviews as JSON on GET /reviews/{id}, with ratings in v2/v3";
    common::config_from_env!(Config, config::ENV_HELP);

    async fn run(
        listener: TcpListener,
        config: Config,
        shutdown: common::Shutdown,
    ) -> anyhow::Result<()> {
        tracing::info!(
            version = %config.service_version,
            ratings = config.enable_ratings,
            star_color = %config.star_color,
            "reviews starting"
        );
        let tracing = config.tracing.clone();
        let state = AppState::from_config(config)?;
        common::server::serve_traced(listener, app(state), &tracing, shutdown).await
    }
}
