//! The errors a client can cause, each mapped to a JSON error response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the id in `/details/{id}` is not a number. The message is Bookinfo's.
    #[error("please provide numeric product id")]
    NonNumericId,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match self {
            Error::NonNumericId => StatusCode::BAD_REQUEST,
        };
        common::http::json_error(status, self.to_string())
    }
}
