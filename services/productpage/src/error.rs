//! The errors productpage answers with, each mapped to its response in one place.
//!
//! The JSON API answers Bookinfo's `{"error": "..."}` bodies; sign-in mistakes come from an HTML
//! form, so they answer a small HTML page. Internal failures are logged here and never shown.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::clients::Failure;

/// Bookinfo's text when details failed, on the page and in the API.
pub const DETAILS_UNAVAILABLE: &str =
    "Sorry, product details are currently unavailable for this book.";
/// Bookinfo's text when reviews failed, on the page and in the API.
pub const REVIEWS_UNAVAILABLE: &str =
    "Sorry, product reviews are currently unavailable for this book.";
/// Bookinfo's text when ratings failed (API only).
pub const RATINGS_UNAVAILABLE: &str =
    "Sorry, product ratings are currently unavailable for this book.";

/// The longest user name accepted at sign-in, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 (JSON): the `{id}` of an API route is not an integer.
    #[error("Invalid product id")]
    InvalidProductId,
    /// The peer's status, or 500 when it did not answer (JSON).
    #[error("{DETAILS_UNAVAILABLE}")]
    DetailsUnavailable(Failure),
    /// The peer's status, or 500 when it did not answer (JSON).
    #[error("{REVIEWS_UNAVAILABLE}")]
    ReviewsUnavailable(Failure),
    /// The peer's status, or 500 when it did not answer (JSON).
    #[error("{RATINGS_UNAVAILABLE}")]
    RatingsUnavailable(Failure),
    /// 400 (HTML): the sign-in form was sent without a user name.
    #[error("Please enter a user name to sign in.")]
    MissingUsername,
    /// 400 (HTML): the user name is too long or has control characters.
    #[error("A user name has at most {MAX_USERNAME_CHARS} characters and no control characters.")]
    BadUsername,
    /// 500 (plain text): a template failed to render. Logged, not shown.
    #[error("rendering failed: {0}")]
    Render(#[from] askama::Error),
}

/// The page that explains a refused sign-in.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    heading: &'a str,
    text: &'a str,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let json = |status| common::http::json_error(status, self.to_string());
        match &self {
            Error::InvalidProductId => json(StatusCode::BAD_REQUEST),
            Error::DetailsUnavailable(failure)
            | Error::ReviewsUnavailable(failure)
            | Error::RatingsUnavailable(failure) => json(failure.reported_status()),
            Error::MissingUsername | Error::BadUsername => {
                let text = self.to_string();
                let page = MessagePage {
                    heading: "Sign-in failed",
                    text: &text,
                };
                match page.render() {
                    Ok(html) => (StatusCode::BAD_REQUEST, Html(html)).into_response(),
                    Err(error) => Error::Render(error).into_response(),
                }
            }
            Error::Render(error) => {
                tracing::error!(%error, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
            }
        }
    }
}
