//! Everything that makes ratings answer something other than 200, each mapped to a JSON error.
//!
//! The messages a client sees are Bookinfo's where Bookinfo has one. A database error is
//! logged here, in full, and answered with a short message that leaks nothing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the id in `/ratings/{id}` is not a whole number.
    #[error("please provide numeric product ID")]
    NonNumericId,
    /// 400: the `POST` body is not JSON, or not a JSON object.
    #[error("please provide valid ratings JSON")]
    InvalidJson,
    /// 400: a posted rating is not a whole number of stars from 1 to 5 (our addition).
    #[error("please provide ratings as whole numbers from 1 to 5 (got {stars} for {reviewer:?})")]
    InvalidStars { reviewer: String, stars: Value },
    /// 501: `POST` on v2, whose ratings live in the database and are read-only.
    #[error("Post not implemented for database backed ratings")]
    PostNotImplemented,
    /// 500: the database did not answer the v2 query.
    #[error("could not load ratings from database")]
    Database(#[source] sqlx::Error),
    /// 503: a fault variant (v-faulty, v-unavailable, v-unhealthy) chose to fail this GET.
    #[error("Service unavailable")]
    Unavailable,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::NonNumericId | Error::InvalidJson | Error::InvalidStars { .. } => {
                StatusCode::BAD_REQUEST
            }
            Error::PostNotImplemented => StatusCode::NOT_IMPLEMENTED,
            Error::Database(source) => {
                tracing::error!(error = %source, "ratings query failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        common::http::json_error(status, self.to_string())
    }
}
