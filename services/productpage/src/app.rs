//! The application: its shared state and the router that puts every route together.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum_extra::extract::cookie::Key;
use tower_http::trace::TraceLayer;

use crate::clients::Clients;
use crate::config::{Config, PeerUrls};
use crate::metrics::{self, Metrics};
use crate::{api, assets, page, session};

/// What every handler can reach. Cloned per request, so everything in it is cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The peers: over the network in the services, in-process in the monolith.
    pub clients: Clients,
    pub metrics: Arc<Metrics>,
    /// Signs and checks the session cookie.
    pub session_key: Key,
    pub flood_factor: u32,
    /// Shown on the landing page.
    pub peers: Arc<PeerUrls>,
}

impl AppState {
    /// The state of the deployed service: network clients to the peers named in `config`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let clients = Clients::network(config, metrics.clone())?;
        Ok(Self::with_clients(config, clients, metrics))
    }

    /// The state with the given peer clients (the monolith passes in-process ones).
    pub fn with_clients(config: &Config, clients: Clients, metrics: Arc<Metrics>) -> Self {
        Self {
            clients,
            metrics,
            session_key: session::key(config.session_secret.as_ref()),
            flood_factor: config.flood_factor,
            peers: Arc::new(config.peers.clone()),
        }
    }
}

/// Lets `SignedCookieJar` and [`session::Visitor`] find the key in the state.
impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.session_key.clone()
    }
}

/// productpage's router: every route, JSON 404/405 for the rest, and a debug log line per
/// request (`RUST_LOG=tower_http=debug`).
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics::metrics))
        .merge(page::router())
        .merge(session::router())
        .merge(api::router())
        .merge(assets::router());
    common::http::with_json_fallbacks(routes)
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}

/// `GET /health`: Bookinfo's text, as plain text.
async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Product page is healthy",
    )
}
