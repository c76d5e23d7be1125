//! Bookinfo's **details** service: facts about a book (author, year, ISBN, publisher, ...).
//!
//! It is the simplest service of the app and the one to read first: one resource, no peers, no
//! database. productpage calls `GET /details/{id}` and shows the answer as the "Book Details"
//! table.
//!
//! Layout:
//! - [`config`]: the environment variables it reads.
//! - [`book`]: the book record and how it is built for an id.
//! - [`api`]: the HTTP routes.
//! - [`error`]: the errors a client can cause, and the status each maps to.

pub mod api;
pub mod book;
pub mod config;
pub mod error;

use tokio::net::TcpListener;

pub use api::app;
pub use config::Config;

/// The details service, as the shared `main` and `sailkit serve details` run it.
pub struct Details;

impl common::Service for Details {
    const NAME: &'static str = "details";
    const ABOUT: &'static str = "Bookinfo details service: book facts as JSON on GET /details/{id}";
    common::config_from_env!(Config, config::ENV_HELP);

    async fn run(
        listener: TcpListener,
        config: Config,
        shutdown: common::Shutdown,
    ) -> anyhow::Result<()> {
        if config.external_book_service {
            tracing::warn!(
                "ENABLE_EXTERNAL_BOOK_SERVICE=true asks for Bookinfo's details v2 (Google Books), \
                 which sailkit does not implement; serving the built-in book instead"
            );
        }
        let tracing = config.tracing.clone();
        common::server::serve_traced(listener, app(config), &tracing, shutdown).await
    }
}
