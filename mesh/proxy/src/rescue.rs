//! The one place where a failure becomes a response.
//!
//! Stages only return [`ProxyError`]. Here it gets its status, a short plain-text body in
//! Envoy's words (so Istio's docs and forum answers still apply), and headers a learner can
//! look at with `curl -i`:
//! - `x-sailkit-flags`: the Envoy response flags of the request (`FI`, `UF,URX`, ...);
//! - `x-sailkit-failed`: who failed, `upstream`, `downstream` or `proxy`;
//! - `x-sailkit-failed-hop`, `x-sailkit-elapsed-ms`, `x-sailkit-trace-id` and `x-request-id`:
//!   which hop failed, after how long, and the trace to look at (see `failure`). A request that
//!   asked for JSON (`accept: application/json`) gets those facts as a JSON body.

use http::Response;
use http::header::{CONNECTION, CONTENT_TYPE, HeaderValue};

use crate::Proxy;
use crate::body::{self, Body};
use crate::error::ProxyError;
use crate::failure::Explained;
use crate::stage::access_log::Entry;

/// Header with the response flags of a synthetic response.
pub const FLAGS_HEADER: &str = "x-sailkit-flags";
/// Header naming who failed.
pub const FAILED_HEADER: &str = "x-sailkit-failed";

/// The response for `error`; its flag is added to the entry's flags for the access log.
pub fn respond(error: &ProxyError, proxy: &Proxy, entry: &mut Entry) -> Response<Body> {
    if let Some(flag) = error.flag() {
        entry.flags.insert(flag);
    }
    let explained = Explained::new(
        error,
        entry.flags,
        &proxy.tracing.identity,
        &entry.trace,
        entry.upstream,
        entry.elapsed(),
    );
    let (content_type, text) = if entry.trace.wants_json {
        ("application/json", explained.json())
    } else {
        ("text/plain", error.to_string())
    };
    let mut response = Response::new(body::full(text));
    *response.status_mut() = error.status();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        FAILED_HEADER,
        HeaderValue::from_static(error.culprit().as_str()),
    );
    if let Ok(value) = HeaderValue::from_str(&entry.flags.to_string()) {
        headers.insert(FLAGS_HEADER, value);
    }
    explained.add_headers(headers);
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
