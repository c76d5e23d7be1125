//! Every answer that is not a page of data: a small HTML page naming what was wrong, or for
//! `/api/...`, JSON `{"error": "..."}`. Never a panic: bad input is the caller's to fix.

use askama::Template;
use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// An HTML answer with `status` and a sentence saying why.
pub fn page(status: StatusCode, message: &str) -> Response {
    let html = ProblemPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
    }
    .render()
    .unwrap_or_else(|_| message.to_string());
    (status, Html(html)).into_response()
}

/// A JSON answer with `status`: `{"error": message}`.
pub fn json(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

pub async fn not_found(uri: Uri) -> Response {
    let message = format!("There is no page at {}.", uri.path());
    if uri.path().starts_with("/api/") {
        json(StatusCode::NOT_FOUND, &message)
    } else {
        page(StatusCode::NOT_FOUND, &message)
    }
}

/// Renders a page template, or answers 500 naming the template's failure.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("The page could not be drawn: {error}"),
        ),
    }
}
