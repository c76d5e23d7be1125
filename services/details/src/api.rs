//! The HTTP routes of details.
//!
//! | route               | answer                                       |
//! |---------------------|----------------------------------------------|
//! | `GET /health`       | `{"status": "Details is healthy"}`           |
//! | `GET /details/{id}` | the book's details; 400 if `id` is not numeric |
//!
//! As in Bookinfo, the id is the *last* segment of any path under `/details/`.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::book::BookDetails;
use crate::config::Config;
use crate::error::Error;

/// The details service's router.
pub fn app(config: Config) -> Router {
    tracing::debug!(version = %config.service_version, "building router");
    let router = Router::new()
        .route("/health", get(health))
        .route("/details/{*rest}", get(details));
    common::http::with_json_fallbacks(router)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "Details is healthy"}))
}

async fn details(Path(rest): Path<String>) -> Result<Json<BookDetails>, Error> {
    let last = rest.rsplit('/').next().unwrap_or_default();
    let id: i64 = last.parse().map_err(|_| Error::NonNumericId)?;
    Ok(Json(BookDetails::for_product(id)))
}
