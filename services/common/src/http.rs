//! JSON errors for HTTP APIs.
//!
//! Bookinfo's services answer errors as `{"error": "<message>"}`. Everything here exists so that
//! *every* error a client can cause gets that shape with a 4xx status: a wrong route, a wrong
//! method, a body that is not JSON. axum's built-in rejections answer in plain text, so the
//! extractors below wrap them.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The body of every error response: `{"error": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
}

/// A JSON error response with the given status.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message.into(),
        }),
    )
        .into_response()
}

/// Router fallback: unknown paths get a JSON 404 that names the path.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

/// Router fallback for a known path with the wrong method: a JSON 405.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}

/// Adds the JSON 404 and 405 fallbacks to a router, and names the handler span of each request
/// by the route it matched (`server::span::record_route`). Every service's router ends here.
pub fn with_json_fallbacks<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
) -> axum::Router<S> {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(crate::server::span::record_route))
}

/// Like `axum::Json`, but a body that cannot be read answers with a JSON 4xx that says why.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(BadJson))]
pub struct JsonBody<T>(pub T);

/// Why a JSON body was refused.
#[derive(Debug)]
pub struct BadJson(JsonRejection);

impl From<JsonRejection> for BadJson {
    fn from(rejection: JsonRejection) -> Self {
        Self(rejection)
    }
}

impl IntoResponse for BadJson {
    fn into_response(self) -> Response {
        json_error(self.0.status(), self.0.body_text())
    }
}

/// Like `axum::extract::Query`, but a bad query string answers with a JSON 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(BadQuery))]
pub struct QueryParams<T>(pub T);

/// Why a query string was refused.
#[derive(Debug)]
pub struct BadQuery(QueryRejection);

impl From<QueryRejection> for BadQuery {
    fn from(rejection: QueryRejection) -> Self {
        Self(rejection)
    }
}

impl IntoResponse for BadQuery {
    fn into_response(self) -> Response {
        json_error(StatusCode::BAD_REQUEST, self.0.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::post;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[derive(Deserialize)]
    struct Named {
        #[allow(dead_code)]
        name: String,
    }

    fn app() -> Router {
        with_json_fallbacks(
            Router::new().route("/echo", post(|JsonBody(_): JsonBody<Named>| async { "ok" })),
        )
    }

    async fn call(req: Request<Body>) -> (StatusCode, ErrorBody) {
        let resp = app().oneshot(req).await.expect("router is infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).expect("error bodies are JSON"),
        )
    }

    #[tokio::test]
    async fn unknown_route_is_a_json_404() {
        let req = Request::get("/nope").body(Body::empty()).expect("request");
        let (status, body) = call(req).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body.error, "no route for GET /nope");
    }

    #[tokio::test]
    async fn wrong_method_is_a_json_405() {
        let req = Request::get("/echo").body(Body::empty()).expect("request");
        let (status, _) = call(req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn malformed_json_is_a_json_4xx() {
        let req = Request::post("/echo")
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .expect("request");
        let (status, body) = call(req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!body.error.is_empty());
    }
}
