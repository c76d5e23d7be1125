//! The wiring: every library's state, connected with in-process clients, behind one router.
//!
//! [`Wiring::new`] is the monolith's equivalent of the split stack's launcher plan and VIPs: it
//! decides who talks to whom. Read it top to bottom; it is the whole "architecture" of the
//! monolith:
//!
//! ```text
//!  listener ─> app
//!    ├─ /health ─────────────────────────> the monolith's own: is the one database there?
//!    ├─ /api/v1/banners, /admin, /images ─> banner's router ─> banner::Store ─> one database
//!    └─ everything else ─────────────────> productpage's router, whose peers are:
//!         ├─ InProcessDetails ─> the details library
//!         ├─ InProcessReviews ─> the reviews library, whose ratings peer is:
//!         │    └─ InProcessRatings ─> ratings v1's memory store
//!         ├─ InProcessRatings ─> that same memory store
//!         └─ InProcessBanner ──> banner::Store, on that same one database
//! ```

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use productpage::clients::Clients;
use productpage::config::PeerUrls;
use productpage::metrics::Metrics;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::config::Config;
use crate::in_process::{InProcessBanner, InProcessDetails, InProcessRatings, InProcessReviews};
use crate::routes::{self, Owner};

/// Each library's state, wired to the others in process.
#[derive(Clone)]
pub struct Wiring {
    pub productpage: productpage::AppState,
    pub banner: banner::AppState,
    /// The one database. banner keeps its banners there; `/health` asks it.
    pub store: banner::Store,
}

impl Wiring {
    /// Wires the libraries together over `store`, the already-connected database.
    pub fn new(config: &Config, store: banner::Store) -> Self {
        // ratings v1, in memory: one store, asked by reviews and by productpage's ratings API.
        let ratings = InProcessRatings::v1();
        // reviews, one version (chosen by ENABLE_RATINGS and STAR_COLOR), calling ratings in
        // process instead of over HTTP.
        let reviews = reviews::AppState::with_ratings_client(
            config.reviews.clone(),
            Arc::new(ratings.clone()),
        );
        // productpage, with an in-process client for each of its four peers.
        let clients = Clients {
            details: Arc::new(InProcessDetails),
            reviews: Arc::new(InProcessReviews::new(reviews)),
            ratings: Arc::new(ratings),
            banner: Arc::new(InProcessBanner::new(store.clone())),
        };
        // The landing page lists where each peer is; here, nowhere but in this process.
        let mut productpage_config = config.productpage.clone();
        productpage_config.peers = PeerUrls {
            details: "in process: the details library".into(),
            reviews: "in process: the reviews library".into(),
            ratings: "in process: the ratings library (v1, memory)".into(),
            banner: "in process: the banner library (this database)".into(),
        };
        let productpage = productpage::AppState::with_clients(
            &productpage_config,
            clients,
            Arc::new(Metrics::new()),
        );
        // banner, serving its API, its admin pages and its images on the same database.
        let banner = banner::AppState::new(store.clone(), &config.banner);
        Self {
            productpage,
            banner,
            store,
        }
    }
}

/// What the monolith's own handlers see: the two routers it dispatches to, and the database.
#[derive(Clone)]
struct AppState {
    productpage: Router,
    banner: Router,
    store: banner::Store,
}

/// The monolith's router: its `/health`, then every other request to the router that owns its
/// path (see [`routes`]).
pub fn app(wiring: Wiring) -> Router {
    let state = AppState {
        productpage: productpage::app(wiring.productpage),
        banner: banner::app(wiring.banner),
        store: wiring.store,
    };
    Router::new()
        .route("/health", get(health))
        .fallback(dispatch)
        .with_state(state)
}

/// `GET /health`: ready when the database answers, like banner's own health check (the only
/// part of the monolith that can be unhealthy is the one thing it depends on).
async fn health(State(state): State<AppState>) -> Result<Json<Value>, banner::Error> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "Monolith is healthy"})))
}

/// Hands the request, untouched, to the router that owns its path. A router never fails (its
/// error type is `Infallible`), so whatever it answers is the answer.
async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let router = match routes::owner(request.uri().path()) {
        Owner::Productpage => state.productpage,
        Owner::Banner => state.banner,
    };
    router.oneshot(request).await.into_response()
}
