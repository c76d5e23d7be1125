//! Phase 5: the answers the proxy gives itself when no instance can. The client learns which
//! service failed, never which instance or address: that, and why, goes to the log.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{Either, Full};

use super::endpoint::Endpoint;
use super::forward::{ResponseBody, ServiceProxy};

impl ServiceProxy {
    /// Phase 5, when the instance could not be reached or broke the exchange off. The client
    /// learns which service failed; the log, which instance, where, and why.
    pub(super) fn bad_gateway(
        &self,
        endpoint: &Endpoint,
        error: &hyper_util::client::legacy::Error,
    ) -> Response<ResponseBody> {
        let reason = error_chain(error);
        tracing::warn!(
            service = %self.service,
            instance = %endpoint.name(),
            address = %endpoint.addr(),
            %reason,
            "bad gateway"
        );
        json_response(StatusCode::BAD_GATEWAY, self.bad_gateway_body.clone())
    }

    /// Phase 5, when the client's own body broke the exchange (a malformed chunk, a client that
    /// hung up): a 400, and no instance is blamed.
    pub(super) fn bad_request(
        &self,
        endpoint: &Endpoint,
        error: &hyper_util::client::legacy::Error,
    ) -> Response<ResponseBody> {
        let reason = error_chain(error);
        tracing::info!(
            service = %self.service,
            instance = %endpoint.name(),
            %reason,
            "the client's request body could not be read"
        );
        json_response(StatusCode::BAD_REQUEST, bad_body())
    }
}

/// The 400 body, the same for every service.
fn bad_body() -> Bytes {
    Bytes::from_static(br#"{"error":"the request body could not be read"}"#)
}

pub(super) fn json_response(status: StatusCode, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Right(Full::new(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `{"error": "<message>"}`, the error shape of every sailkit service.
pub(super) fn error_body(message: &str) -> Bytes {
    Bytes::from(serde_json::json!({ "error": message }).to_string())
}

/// The error and its causes on one line: hyper's top-level errors ("client error (Connect)")
/// say little without the cause ("Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
