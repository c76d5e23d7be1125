//! The HTTP routes of ratings, and the state they share.
//!
//! | route                 | answer                                                            |
//! |-----------------------|-------------------------------------------------------------------|
//! | `GET /health`         | `{"status": "Ratings is healthy"}`; v-unhealthy, when failing: 500 |
//! | `GET /ratings/{id}`   | `{"id": id, "ratings": {...}}`; 400 if `id` is not a whole number  |
//! | `POST /ratings/{id}`  | stores the posted ratings (memory store only; v2 answers 501)      |
//!
//! As in Bookinfo, the id is the *last* segment of any path under `/ratings/`. A GET goes
//! through three steps, in Bookinfo's order: check the id, let the fault variant have its say
//! ([`crate::fault`]), then ask the store ([`crate::store`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::config::{Config, Version};
use crate::error::Error;
use crate::fault::{Faults, Verdict};
use crate::model::{self, ProductRatings};
use crate::store::Store;

/// What every request handler can see.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Arc<Store>,
    faults: Arc<Faults>,
}

impl AppState {
    /// The state `config` asks for: the database store for v2 (connecting and migrating now),
    /// the memory store otherwise, and the faults of the variant.
    pub async fn from_config(config: &Config) -> Result<Self, common::db::DbError> {
        let store = match config.version {
            Version::V2 => Store::database(&config.database_url).await?,
            _ => Store::memory(),
        };
        let faults = Faults::new(config.version, config.faults.clone());
        Ok(Self::new(store, faults))
    }

    /// A state from its parts.
    pub fn new(store: Store, faults: Faults) -> Self {
        Self {
            store: Arc::new(store),
            faults: Arc::new(faults),
        }
    }
}

/// The ratings service's router.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(health))
        // `/ratings/` alone has no id, which Bookinfo answers with the non-numeric id error.
        .route("/ratings/", get(no_id).post(no_id))
        .route("/ratings/{*rest}", get(get_ratings).post(post_ratings))
        .with_state(state);
    common::http::with_json_fallbacks(router)
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.faults.healthy() {
        (
            StatusCode::OK,
            Json(json!({"status": "Ratings is healthy"})),
        )
    } else {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"status": "Ratings is not healthy"})),
        )
    }
}

async fn get_ratings(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ProductRatings>, Error> {
    let id = product_id(path)?;
    match state.faults.on_get() {
        Verdict::Proceed => {}
        Verdict::Delay(delay) => tokio::time::sleep(delay).await,
        Verdict::Unavailable => return Err(Error::Unavailable),
    }
    let ratings = state.store.get(id).await?;
    Ok(Json(ProductRatings { id, ratings }))
}

/// Reads the body as bytes rather than through a JSON extractor: Bookinfo does not require a
/// `Content-Type`, so neither do we, and a bad body gets Bookinfo's message.
async fn post_ratings(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<ProductRatings>, Error> {
    let id = product_id(path)?;
    let posted = model::parse_posted(&body)?;
    let ratings = state.store.put(id, posted).await?;
    Ok(Json(ProductRatings { id, ratings }))
}

async fn no_id() -> Error {
    Error::NonNumericId
}

/// The product id: the last segment of the path after `/ratings/`, as a whole number.
///
/// Bookinfo parses it leniently (`5abc` counts as 5); we take whole numbers only.
fn product_id(path: Result<Path<String>, PathRejection>) -> Result<i64, Error> {
    // A path that is not valid UTF-8 once decoded holds no number either.
    let Ok(Path(rest)) = path else {
        return Err(Error::NonNumericId);
    };
    let last = rest.rsplit('/').next().unwrap_or_default();
    last.parse().map_err(|_| Error::NonNumericId)
}
