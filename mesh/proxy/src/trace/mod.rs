//! Distributed tracing: each request through the proxy is one span of a trace, and the trace
//! context travels on to the next hop in the request's headers, as Istio's sidecars do.
//!
//! The outbound side (and the gateway) starts a *client* span, the inbound side a *server* span,
//! each a child of the caller's context. The request then goes on with this hop's context
//! instead of the caller's (`propagation`), so the next hop's span is this one's child, and with
//! an `x-request-id` (`request_id`). The span ends when the response body does, with the access
//! log line, which prints the trace id.
//!
//! **Cheap when not sampled.** Whether a trace is recorded is decided once, up front
//! (`sampling`). Only a sampled request with a collector to send to (`--otlp-endpoint`,
//! `export`) starts an OpenTelemetry span, with its attributes; any other request only gets
//! this hop's ids (two random numbers) written into its headers, and nothing is recorded.
//!
//! # Layout
//! - `identity`: who this proxy is (workload, canonical service and revision, namespace).
//! - `sampling`: the sampling decision, the caller's when it made one.
//! - `propagation`: W3C `traceparent` and B3 in, the same formats out (OpenTelemetry's
//!   propagators).
//! - `request_id`: `x-request-id`, made when absent.
//! - `span`: [`RequestTrace`], one request's trace: its context, its span if recorded, what a
//!   failure answer says about the hop.
//! - `export`: the batch processor and the OTLP/gRPC exporter.

mod export;
pub mod identity;
pub mod propagation;
pub mod request_id;
pub mod sampling;
mod span;

use std::net::SocketAddr;
use std::sync::Arc;

use http::Request;
use opentelemetry::trace::{Span as _, SpanContext, SpanId, SpanKind, TraceFlags, TraceId};

pub use identity::Identity;
pub use span::{Callee, RequestTrace};

use crate::Settings;
use crate::server::ClientAddr;
use export::Export;
use sampling::{DEFERRED, Sampling};
use span::Recorder;

/// The tracing of one proxy: its identity, its sampling rate, its exporter.
pub struct Tracing {
    pub identity: Arc<Identity>,
    sampling: Sampling,
    /// Spans are recorded only when there is a collector to send them to.
    recorder: Option<Recorder>,
    export: std::sync::Mutex<Option<Export>>,
}

impl Tracing {
    /// From `--trace-sampling` and `--otlp-endpoint`. An exporter that cannot be built (a bad
    /// endpoint) is logged, and spans are then only propagated.
    pub fn new(settings: &Settings) -> Tracing {
        let identity = Arc::new(Identity::of(settings));
        let export = settings.tracing.otlp_endpoint.as_deref().and_then(|endpoint| {
            Export::start(endpoint, &identity)
                .inspect_err(|error| {
                    tracing::warn!(%endpoint, %error, "cannot export spans: tracing propagates ids only");
                })
                .ok()
        });
        let recorder = export
            .as_ref()
            .map(|export| Recorder::new(export.tracer(), &identity));
        Tracing {
            identity,
            sampling: Sampling::percent(settings.tracing.trace_sampling),
            recorder,
            export: std::sync::Mutex::new(export),
        }
    }

    /// The trace of an outbound request (from the local application, or from outside through a
    /// gateway): a client span, whose context `request` carries on.
    pub fn outbound<B>(&self, request: &mut Request<B>) -> RequestTrace {
        let callee = Callee::of(request);
        self.start(request, SpanKind::Client, callee)
    }

    /// The trace of an inbound request towards the local application at `app`: a server span.
    pub fn inbound<B>(&self, request: &mut Request<B>, app: Option<SocketAddr>) -> RequestTrace {
        let mut trace = self.start(request, SpanKind::Server, Callee::Local);
        if let (Some(span), Some(app)) = (trace.span.as_deref_mut(), app) {
            span::name_inbound(span, &self.identity, request, app);
        }
        trace
    }

    fn start<B>(&self, request: &mut Request<B>, kind: SpanKind, callee: Callee) -> RequestTrace {
        let incoming = propagation::extract(request.headers());
        let sampled = self
            .sampling
            .decide(incoming.parent.as_ref(), fastrand::f64());
        // A B3 "no decision yet" is not carried on: this hop has decided.
        let parent = incoming.parent.map(|parent| {
            SpanContext::new(
                parent.trace_id(),
                parent.span_id(),
                parent.trace_flags() & !DEFERRED,
                true,
                parent.trace_state().clone(),
            )
        });
        let request_id = request_id::RequestId::ensure(request.headers_mut());
        let (context, span) = match (&self.recorder, sampled) {
            (Some(recorder), true) => {
                let span = recorder.start(request, kind, parent.as_ref(), &request_id);
                (span.span_context().clone(), Some(Box::new(span)))
            }
            _ => (ids_only(parent.as_ref(), sampled), None),
        };
        propagation::inject(
            request.headers_mut(),
            &context,
            parent.as_ref(),
            incoming.b3.as_ref(),
        );
        let peer = request.extensions().get::<ClientAddr>().map(|c| c.0);
        RequestTrace::new(context, request_id, span, callee, peer, wants_json(request))
    }

    /// Send the spans still queued, and stop exporting (when the proxy stops).
    pub fn stop(&self) {
        let export = self.export.lock().map(|mut e| e.take()).unwrap_or(None);
        if let Some(mut export) = export {
            export.stop();
        }
    }
}

/// This hop's context when nothing is recorded: the caller's trace (or a new one), a new span
/// id, and the decision.
fn ids_only(parent: Option<&SpanContext>, sampled: bool) -> SpanContext {
    let (trace_id, flags, state) = match parent {
        Some(parent) => (
            parent.trace_id(),
            parent.trace_flags(),
            parent.trace_state().clone(),
        ),
        None => (
            TraceId::from(fastrand::u128(1..)),
            TraceFlags::default(),
            Default::default(),
        ),
    };
    SpanContext::new(
        trace_id,
        SpanId::from(fastrand::u64(1..)),
        flags.with_sampled(sampled),
        false,
        state,
    )
}

/// Whether the caller asked for JSON (`accept: application/json`): a failure answer is then a
/// JSON object.
fn wants_json<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("application/json"))
}
