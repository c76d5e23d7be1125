//! The errors a client can cause, each mapped to a JSON error response.
//!
//! A failing ratings service is *not* among them: reviews then still answers 200, with an
//! error object in place of each review's stars (see [`crate::review`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: the id in `/reviews/{id}` is not an integer. Bookinfo answers 404 as well (its web
    /// framework cannot turn the segment into an `int`, so no route matches); we keep the status
    /// and add a body that says why.
    #[error("no route for /reviews/{0}: the product id must be an integer")]
    NonIntegerId(String),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match self {
            Error::NonIntegerId(_) => StatusCode::NOT_FOUND,
        };
        common::http::json_error(status, self.to_string())
    }
}
