//! The static files, built into the binary: the stylesheet and the logo.
//!
//! Shipping them inside the executable keeps productpage one file to copy and lets the page
//! look right with no network at all (no CDN, no web fonts). They change only with a new build,
//! so browsers may cache them for an hour.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;

const CSS: &str = include_str!("../static/css/bookinfo.css");
const LOGO: &str = include_str!("../static/img/logo.svg");
const CACHE: &str = "public, max-age=3600";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/css/bookinfo.css", get(css))
        .route("/static/img/logo.svg", get(logo))
        .route("/favicon.ico", get(logo))
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        CSS,
    )
}

async fn logo() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, CACHE),
        ],
        LOGO,
    )
}
