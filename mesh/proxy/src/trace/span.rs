//! One request's trace ([`RequestTrace`]): this hop's span context, the OpenTelemetry span when
//! the request is recorded, and the facts a failure answer gives about the hop.
//!
//! Span names and attributes follow Envoy's and Istio's, so that a trace from the kit reads
//! like one from Istio in Jaeger: the name is `<service host>:<port>/*`, and the attributes are
//! Envoy's tags (`node_id`, `guid:x-request-id`, `http.url`, `http.method`, `http.protocol`,
//! `user_agent`, `peer.address`, `upstream_cluster`, `http.status_code`, `response_flags`,
//! `request_size`, `response_size`, `upstream_address`, `error`) and Istio's
//! (`istio.canonical_service`, `istio.canonical_revision`, `istio.namespace`). A span is an
//! error when the answer is a 5xx, none was sent (status 0), or a response flag other than a
//! delay (`DI`) is set.

use std::net::SocketAddr;

use http::header::{HOST, HeaderValue, USER_AGENT};
use http::uri::Authority;
use http::{Request, Version};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt as _, TraceId, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, Span};

use super::identity::Identity;
use super::request_id::RequestId;
use crate::flags::{Flag, Flags};
use crate::stage::route::Route;

/// Starts recorded spans, with the attributes every span of this proxy carries.
pub(super) struct Recorder {
    tracer: SdkTracer,
    common: Vec<KeyValue>,
}

impl Recorder {
    pub(super) fn new(tracer: SdkTracer, identity: &Identity) -> Recorder {
        Recorder {
            tracer,
            common: vec![
                KeyValue::new("component", "proxy"),
                KeyValue::new("node_id", identity.node_id()),
                KeyValue::new(
                    "istio.canonical_service",
                    identity.canonical_service.clone(),
                ),
                KeyValue::new(
                    "istio.canonical_revision",
                    identity.canonical_revision.clone(),
                ),
                KeyValue::new("istio.namespace", identity.namespace.clone()),
            ],
        }
    }

    /// A span for `request`, child of `parent` (a new trace without one).
    pub(super) fn start<B>(
        &self,
        request: &Request<B>,
        kind: SpanKind,
        parent: Option<&SpanContext>,
        request_id: &RequestId,
    ) -> Span {
        let authority = authority(request);
        let header = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let mut attributes = self.common.clone();
        attributes.extend([
            KeyValue::new("guid:x-request-id", request_id.to_string()),
            KeyValue::new("http.url", format!("http://{authority}{path}")),
            KeyValue::new("http.method", request.method().as_str().to_owned()),
            KeyValue::new("http.protocol", protocol(request.version())),
            KeyValue::new("user_agent", header(USER_AGENT)),
        ]);
        if let Some(peer) = request.extensions().get::<crate::server::ClientAddr>() {
            attributes.push(KeyValue::new("peer.address", peer.0.ip().to_string()));
        }
        let builder = self
            .tracer
            .span_builder(format!("{authority}/*"))
            .with_kind(kind)
            .with_attributes(attributes);
        let parent = match parent {
            Some(parent) => Context::new().with_remote_span_context(parent.clone()),
            None => Context::new(),
        };
        self.tracer.build_with_context(builder, &parent)
    }
}

/// The inbound span's name and cluster, Istio's: `reviews.default.svc.cluster.local:9080/*`
/// and `inbound|9080||`, with the port the caller addressed (the application's, without one).
pub(super) fn name_inbound<B>(
    span: &mut Span,
    identity: &Identity,
    request: &Request<B>,
    app: SocketAddr,
) {
    let port = port_of(&authority(request)).unwrap_or(app.port());
    span.update_name(format!("{}:{port}/*", identity.service_host()));
    span.set_attribute(KeyValue::new(
        "upstream_cluster",
        format!("inbound|{port}||"),
    ));
}

/// Where the request was going, as the caller addressed it: for a failure answer.
#[derive(Debug, Default)]
pub enum Callee {
    /// Not known yet (a placeholder entry).
    #[default]
    Unknown,
    /// This workload itself (inbound).
    Local,
    /// The URI's authority (absolute form, the usual `HTTP_PROXY` request).
    Authority(Authority),
    /// The `Host` header (origin form: a gateway's requests).
    Host(HeaderValue),
}

impl Callee {
    /// Cheap copies of the request's own buffers, no new text.
    pub fn of<B>(request: &Request<B>) -> Callee {
        if let Some(authority) = request.uri().authority() {
            return Callee::Authority(authority.clone());
        }
        request
            .headers()
            .get(HOST)
            .map_or(Callee::Unknown, |host| Callee::Host(host.clone()))
    }

    /// The callee's name, or `None` for this workload.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Callee::Unknown => Some("unknown"),
            Callee::Local => None,
            Callee::Authority(authority) => Some(authority.as_str()),
            Callee::Host(host) => Some(host.to_str().unwrap_or("unknown")),
        }
    }
}

/// One request's trace.
#[derive(Debug)]
pub struct RequestTrace {
    /// This hop's span context: the request's trace id, this hop's span id and decision.
    context: SpanContext,
    request_id: RequestId,
    /// The recorded span (sampled, with a collector); boxed, since most requests have none.
    pub(super) span: Option<Box<Span>>,
    /// Where the request was going.
    pub callee: Callee,
    /// The caller's address (on the inbound side, the caller's sidecar).
    pub peer: Option<SocketAddr>,
    /// The caller asked for JSON (`accept: application/json`).
    pub wants_json: bool,
}

impl Default for RequestTrace {
    /// A placeholder: no trace (printed `-`).
    fn default() -> Self {
        RequestTrace {
            context: SpanContext::empty_context(),
            request_id: RequestId::None,
            span: None,
            callee: Callee::Unknown,
            peer: None,
            wants_json: false,
        }
    }
}

impl RequestTrace {
    pub(super) fn new(
        context: SpanContext,
        request_id: RequestId,
        span: Option<Box<Span>>,
        callee: Callee,
        peer: Option<SocketAddr>,
        wants_json: bool,
    ) -> RequestTrace {
        RequestTrace {
            context,
            request_id,
            span,
            callee,
            peer,
            wants_json,
        }
    }

    /// The request's trace id (the same on every hop).
    pub fn trace_id(&self) -> TraceId {
        self.context.trace_id()
    }

    /// This hop's span context.
    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// Write the trace id to `out` (`-` for a placeholder), for the access log.
    pub fn write_trace_id(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        if self.context.is_valid() {
            let _ = write!(out, "{}", self.context.trace_id());
        } else {
            out.push(b'-');
        }
    }

    /// The outbound route is known: a recorded span takes Istio's name for the destination,
    /// `reviews.default.svc.cluster.local:9080/*`, and its cluster,
    /// `outbound|9080|v1|reviews.default.svc.cluster.local`.
    pub fn routed(&mut self, route: &Route, authority: &str) {
        let Some(span) = self.span.as_deref_mut() else {
            return;
        };
        let port = port_of(authority).unwrap_or(80);
        let subset = route.subset.as_deref().unwrap_or("");
        let host = &route.host;
        span.update_name(format!("{host}:{port}/*"));
        span.set_attribute(KeyValue::new(
            "upstream_cluster",
            format!("outbound|{port}|{subset}|{host}"),
        ));
    }

    /// The response body has ended (or the caller went away: status 0): the span ends with
    /// what happened.
    pub fn end(
        &mut self,
        status: u16,
        flags: Flags,
        bytes_in: u64,
        bytes_out: u64,
        upstream: Option<SocketAddr>,
    ) {
        let Some(mut span) = self.span.take() else {
            return;
        };
        span.set_attributes([
            KeyValue::new("http.status_code", i64::from(status)),
            KeyValue::new(
                "response_flags",
                if flags.is_empty() {
                    "-".to_owned()
                } else {
                    flags.to_string()
                },
            ),
            KeyValue::new("request_size", i64::try_from(bytes_in).unwrap_or(i64::MAX)),
            KeyValue::new(
                "response_size",
                i64::try_from(bytes_out).unwrap_or(i64::MAX),
            ),
        ]);
        if let Some(upstream) = upstream {
            span.set_attribute(KeyValue::new("upstream_address", upstream.to_string()));
        }
        if failed(status, flags) {
            span.set_attribute(KeyValue::new("error", true));
            span.set_status(Status::error(if status == 0 {
                "no response sent".to_owned()
            } else {
                format!("{status} {flags}").trim_end().to_owned()
            }));
        }
        span.end();
    }
}

/// A 5xx, no answer, or a flag that is not a mere delay.
fn failed(status: u16, flags: Flags) -> bool {
    status == 0 || status >= 500 || flags.iter().any(|flag| flag != Flag::DelayInjected)
}

/// The authority the request names: its URI's, else its `Host`.
fn authority<B>(request: &Request<B>) -> String {
    match request.uri().authority() {
        Some(authority) => authority.as_str().to_owned(),
        None => request
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("-")
            .to_owned(),
    }
}

/// The port of `host:port`.
fn port_of(authority: &str) -> Option<u16> {
    let (_, port) = authority.rsplit_once(':')?;
    port.parse().ok()
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_fails_on_a_5xx_no_answer_or_a_flag_other_than_a_delay() {
        let mut delayed = Flags::new();
        delayed.insert(Flag::DelayInjected);
        assert!(!failed(200, Flags::new()));
        assert!(!failed(404, Flags::new()));
        assert!(!failed(200, delayed));
        assert!(failed(503, Flags::new()));
        assert!(failed(0, Flags::new()));
        let mut aborted = delayed;
        aborted.insert(Flag::FaultInjected);
        assert!(failed(400, aborted));
    }

    #[test]
    fn ports_come_from_the_authority() {
        assert_eq!(port_of("reviews:9080"), Some(9080));
        assert_eq!(port_of("reviews"), None);
    }
}
