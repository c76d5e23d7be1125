//! The span of a call to a peer, and the context it sends along.
//!
//! Every attempt of a call to a peer is a client span, child of the handler's span, named like
//! the handler span at the other end: the method and the peer's route template
//! (`GET /ratings/{id}`). The request it sends carries *this* span's context
//! ([`PeerCall::headers`]), so the peer's sidecar and then the peer's handler become its
//! children. With tracing off the span is disabled, and the trace headers copied from the
//! served request travel on unchanged.

use std::fmt::Display;

use http::{HeaderMap, Method, StatusCode};
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::propagation::trace_context;

/// One attempt of a call to a peer, as a span. Run the call inside [`PeerCall::span`]
/// (`.instrument(call.span().clone())`), then report how it ended.
#[derive(Debug)]
pub struct PeerCall {
    span: Span,
}

impl PeerCall {
    /// A call to `peer` (its `app` name), on the route `route` (the template, with `{id}`, not
    /// the path): a child of the current span.
    pub fn start(peer: &str, method: &Method, route: &str) -> Self {
        let span = tracing::info_span!(
            "peer call",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "client",
            otel.status_code = Empty,
            peer.service = peer,
            http.request.method = %method,
            url.template = route,
            http.response.status_code = Empty,
            error.type = Empty,
        );
        Self { span }
    }

    /// The span, to run the call in.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The headers to send: `forwarded` (picked by `propagation::forwarded`) with the trace
    /// context replaced by this span's.
    pub fn headers(&self, forwarded: &HeaderMap) -> HeaderMap {
        let mut headers = forwarded.clone();
        if !self.span.is_disabled() {
            trace_context::inject(&self.span.context(), &mut headers);
        }
        headers
    }

    /// The peer answered `status`. A 4xx or 5xx marks the span as an error, as OpenTelemetry's
    /// HTTP conventions do for a client span (banner's 404, "no active banner", included: the
    /// span says what the peer answered, the page decides what it means).
    pub fn answered(&self, status: StatusCode) {
        self.span
            .record("http.response.status_code", status.as_u16());
        if status.is_client_error() || status.is_server_error() {
            self.span.record("otel.status_code", "ERROR");
            self.span.record("error.type", status.as_str());
        }
    }

    /// No answer: connection refused, timeout, a body cut short.
    pub fn failed(&self, error: &dyn Display) {
        self.span.record("otel.status_code", "ERROR");
        self.span
            .record("error.type", tracing::field::display(error));
    }
}
