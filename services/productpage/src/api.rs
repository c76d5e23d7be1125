//! The JSON API, Bookinfo's `/api/v1` (documented upstream in `swagger.yaml`).
//!
//! | route                                | answer                                          |
//! |--------------------------------------|-------------------------------------------------|
//! | `GET /api/v1/products`               | the product list (no peer call)                 |
//! | `GET /api/v1/products/{id}`          | details' body for `id`, verbatim                |
//! | `GET /api/v1/products/{id}/reviews`  | reviews' body, verbatim (two attempts, as the page) |
//! | `GET /api/v1/products/{id}/ratings`  | ratings' body, verbatim                         |
//!
//! When a peer fails, the answer is `{"error": "Sorry, product ... unavailable for this book."}`
//! with the peer's status, or 500 when it did not answer. An `{id}` that is not an integer is a
//! 400 `{"error": "Invalid product id"}` (Bookinfo passes any string through; its API
//! description promises this 400, so we check before calling anyone).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::clients::{Failure, Fetched};
use crate::error::Error;
use crate::product::{PRODUCTS, Product};
use crate::session::Visitor;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products", get(products))
        .route("/api/v1/products/{id}", get(product_details))
        .route("/api/v1/products/{id}/reviews", get(product_reviews))
        .route("/api/v1/products/{id}/ratings", get(product_ratings))
}

async fn products() -> Json<&'static [&'static Product]> {
    Json(&PRODUCTS)
}

async fn product_details(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visitor: Visitor,
) -> Result<Response, Error> {
    let id = product_id(&id)?;
    let fetched = state
        .clients
        .details
        .details(id, &visitor.peer_headers)
        .await;
    relay(fetched, Error::DetailsUnavailable)
}

async fn product_reviews(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visitor: Visitor,
) -> Result<Response, Error> {
    let id = product_id(&id)?;
    let fetched = state
        .clients
        .reviews
        .reviews(id, &visitor.peer_headers)
        .await;
    relay(fetched, Error::ReviewsUnavailable)
}

async fn product_ratings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visitor: Visitor,
) -> Result<Response, Error> {
    let id = product_id(&id)?;
    let fetched = state
        .clients
        .ratings
        .ratings(id, &visitor.peer_headers)
        .await;
    relay(fetched, Error::RatingsUnavailable)
}

fn product_id(raw: &str) -> Result<i64, Error> {
    raw.parse().map_err(|_| Error::InvalidProductId)
}

/// A peer's 200 body passed on as it is (no parsing: the API is a window onto the peers), or
/// the matching error.
fn relay(fetched: Fetched, unavailable: fn(Failure) -> Error) -> Result<Response, Error> {
    let body = fetched.map_err(unavailable)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
