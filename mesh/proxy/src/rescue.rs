//! The one place where a failure becomes a response.
//!
//! Stages only return [`ProxyError`]. Here it gets its status, a short plain-text body in
//! Envoy's words (so Istio's docs and forum answers still apply), and two headers a learner can
//! look at with `curl -i`:
//! - `x-sailkit-flags`: the Envoy response flags of the request (`FI`, `UF,URX`, ...);
//! - `x-sailkit-failed`: who failed, `upstream`, `downstream` or `proxy`.

use http::Response;
use http::header::{CONNECTION, CONTENT_TYPE, HeaderValue};

use crate::body::{self, Body};
use crate::error::ProxyError;
use crate::flags::Flags;

/// Header with the response flags of a synthetic response.
pub const FLAGS_HEADER: &str = "x-sailkit-flags";
/// Header naming who failed.
pub const FAILED_HEADER: &str = "x-sailkit-failed";

/// The response for `error`; its flag is added to `flags` for the access log.
pub fn respond(error: &ProxyError, flags: &mut Flags) -> Response<Body> {
    if let Some(flag) = error.flag() {
        flags.insert(flag);
    }
    let mut response = Response::new(body::full(error.to_string()));
    *response.status_mut() = error.status();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(
        FAILED_HEADER,
        HeaderValue::from_static(error.culprit().as_str()),
    );
    if let Ok(value) = HeaderValue::from_str(&flags.to_string()) {
        headers.insert(FLAGS_HEADER, value);
    }
    if matches!(
        error,
        ProxyError::DownstreamBody
            | ProxyError::DownstreamDisconnect
            | ProxyError::DownstreamTimeout
    ) {
        // As Envoy does after a downstream protocol error: the rest of what the caller sent on
        // this connection cannot be trusted to frame a next request, so it is not read (nor
        // is the rest of a body too slow to arrive). HTTP/2 has no such header; hyper's HTTP/2
        // server leaves it out, and the stream alone ends.
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
