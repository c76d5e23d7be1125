//! Self-explaining failures: what the proxy's own error answers say about the hop that failed.
//!
//! When the proxy answers a request itself (`rescue`: 503 `UF`, `UH`, `UO`, `NR`, 504 `UT`, a
//! fault's abort...), whoever reads the answer should be led to the cause without searching.
//! Besides `x-sailkit-flags` and `x-sailkit-failed`, the answer names:
//! - `x-sailkit-failed-hop`: the hop, `<caller> -> <callee>`, and the instance when one was
//!   picked: `productpage-v1 -> reviews:9080 (127.0.0.1:9103)`. On the outbound side the caller
//!   is this workload and the callee the service as the caller addressed it; on the inbound
//!   side the caller is the address the request came from and the callee this workload, its
//!   instance the local application;
//! - `x-sailkit-elapsed-ms`: the time the proxy spent on the request before answering;
//! - `x-sailkit-trace-id`: the request's trace id, to find its trace and its access log lines;
//!   `x-request-id` too.
//!
//! The body stays Envoy's short text, unless the request asked for JSON (`accept:
//! application/json`): then it is a JSON object with the same facts. The headers reach the
//! application that made the call; a page it renders from the failure stays its own.

use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use serde::Serialize;

use crate::error::ProxyError;
use crate::flags::Flags;
use crate::trace::{Identity, RequestTrace, request_id::X_REQUEST_ID};

/// The hop that failed.
pub const FAILED_HOP_HEADER: HeaderName = HeaderName::from_static("x-sailkit-failed-hop");
/// The milliseconds the proxy spent on the request.
pub const ELAPSED_HEADER: HeaderName = HeaderName::from_static("x-sailkit-elapsed-ms");
/// The request's trace id.
pub const TRACE_ID_HEADER: HeaderName = HeaderName::from_static("x-sailkit-trace-id");

/// Everything a failure answer says, in the order of the JSON object.
#[derive(Debug, Serialize)]
pub struct Explained<'a> {
    pub status: u16,
    /// Envoy's short text (`no healthy upstream`, ...).
    pub error: String,
    /// The response flags, `UF,URX` (empty for none).
    pub flags: String,
    /// Who failed: `upstream`, `downstream` or `proxy`.
    pub failed: &'static str,
    pub caller: String,
    pub callee: &'a str,
    /// The instance picked for the last attempt, if one was.
    pub instance: Option<SocketAddr>,
    pub elapsed_ms: u64,
    pub trace_id: String,
    pub request_id: String,
}

impl<'a> Explained<'a> {
    /// The facts of `error`, answered after `elapsed`, for a request whose trace is `trace`.
    pub fn new(
        error: &ProxyError,
        flags: Flags,
        identity: &'a Identity,
        trace: &'a RequestTrace,
        instance: Option<SocketAddr>,
        elapsed: Duration,
    ) -> Explained<'a> {
        let (caller, callee) = match trace.callee.as_str() {
            Some(callee) => (identity.workload.clone(), callee),
            None => (
                trace
                    .peer
                    .map_or_else(|| "unknown".to_owned(), |peer| peer.to_string()),
                identity.workload.as_str(),
            ),
        };
        Explained {
            status: error.status().as_u16(),
            error: error.to_string(),
            flags: flags.to_string(),
            failed: error.culprit().as_str(),
            caller,
            callee,
            instance,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            trace_id: trace.trace_id().to_string(),
            request_id: trace.request_id().to_string(),
        }
    }

    /// `caller -> callee (instance)`.
    pub fn hop(&self) -> String {
        match self.instance {
            Some(instance) => format!("{} -> {} ({instance})", self.caller, self.callee),
            None => format!("{} -> {}", self.caller, self.callee),
        }
    }

    /// Add the headers to an answer.
    pub fn add_headers(&self, headers: &mut HeaderMap) {
        let mut numbers = itoa::Buffer::new();
        for (name, value) in [
            (FAILED_HOP_HEADER, self.hop()),
            (ELAPSED_HEADER, numbers.format(self.elapsed_ms).to_owned()),
            (TRACE_ID_HEADER, self.trace_id.clone()),
            (X_REQUEST_ID, self.request_id.clone()),
        ] {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
    }

    /// The JSON body.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}
