//! The trace context in HTTP headers: read from the request a service serves, written on the
//! requests it makes.
//!
//! Two formats are understood, as Istio's sidecars speak them: W3C Trace Context
//! (`traceparent`, `tracestate`) and Zipkin's B3, in its multi-header (`x-b3-traceid`,
//! `x-b3-spanid`, `x-b3-sampled`, ...) and single-header (`b3`) forms. Reading tries both (B3
//! wins when a request carries both, as the B3 propagator reads last in the composite); writing
//! always puts `traceparent`, and B3 too when the request being served came with B3, in the
//! same form, so that a caller speaking only B3 sees its trace continue. The parsers are
//! OpenTelemetry's own (`TraceContextPropagator`, opentelemetry-zipkin's B3 propagator): a
//! malformed header is ignored, and a new trace starts.
//!
//! opentelemetry-zipkin is marked deprecated as a whole, for its Zipkin *exporter* (collectors
//! take OTLP now); its B3 propagator is still the one OpenTelemetry's Rust project ships, and B3
//! is what Istio's sidecars speak, hence the `allow`.
#![allow(deprecated)]

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_zipkin::{B3Encoding, Propagator as B3Propagator};

/// The headers a context is written to, removed first so that the copies taken from the
/// incoming request (`forwarded`) never travel beside the new context: W3C's and B3's single
/// header, and B3's multi-header form ([`B3_MULTI_HEADERS`]).
const SINGLE_HEADERS: &[&str] = &["traceparent", "tracestate", "b3"];
const B3_MULTI_HEADERS: &[&str] = &[
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
];

/// Reads W3C and B3 (both forms).
static READ: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(B3Propagator::with_encoding(
            B3Encoding::SingleAndMultiHeader,
        )),
    ])
});

/// W3C alone, for a request that came without B3.
static WRITE_W3C: LazyLock<TraceContextPropagator> = LazyLock::new(TraceContextPropagator::new);
/// W3C and B3's multi-header form.
static WRITE_B3_MULTI: LazyLock<TextMapCompositePropagator> =
    LazyLock::new(|| with_b3(B3Encoding::MultipleHeader));
/// W3C and B3's single `b3` header.
static WRITE_B3_SINGLE: LazyLock<TextMapCompositePropagator> =
    LazyLock::new(|| with_b3(B3Encoding::SingleHeader));

fn with_b3(encoding: B3Encoding) -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(B3Propagator::with_encoding(encoding)),
    ])
}

/// The context `headers` carry: a remote parent span when they hold a valid one, else an
/// empty context (the span made under it starts a new trace).
pub fn extract(headers: &HeaderMap) -> Context {
    READ.extract(&Headers(headers))
}

/// Writes `cx`'s span into `headers`, the peer-bound copy of the served request's headers,
/// replacing the trace context copied there. B3 is written in the form those headers used;
/// W3C always. With no valid span in `cx` (tracing is off), the copied headers stay as they are,
/// so the trace still travels through this service unchanged.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    if !cx.span().span_context().is_valid() {
        return;
    }
    let single = headers.contains_key("b3");
    let writer: &dyn TextMapPropagator = if single {
        &*WRITE_B3_SINGLE
    } else if headers.contains_key("x-b3-traceid") {
        &*WRITE_B3_MULTI
    } else {
        &*WRITE_W3C
    };
    for name in SINGLE_HEADERS.iter().chain(B3_MULTI_HEADERS) {
        headers.remove(*name);
    }
    writer.inject_context(cx, &mut HeadersMut(headers));
    if single {
        // The B3 propagator writes the multi-header form beside `b3` whatever its encoding
        // (its `UnSpecified` flag is 0, which every encoding "supports"): keep the form the
        // request came with.
        for name in B3_MULTI_HEADERS {
            headers.remove(*name);
        }
    }
}

/// `HeaderMap` as OpenTelemetry's carrier to read from.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// `HeaderMap` as OpenTelemetry's carrier to write to.
struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagators write lower-case names and ids in hex: both always valid.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";
    const CHILD: &str = "b7ad6b7169203331";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                let value = HeaderValue::from_str(value).expect("a valid header value");
                (HeaderName::from_static(name), value)
            })
            .collect()
    }

    /// A context whose span is `CHILD`, in trace `TRACE`, sampled.
    fn child() -> Context {
        let trace = TraceId::from_hex(TRACE).expect("hex");
        let span = SpanId::from_hex(CHILD).expect("hex");
        Context::new().with_remote_span_context(SpanContext::new(
            trace,
            span,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    fn extracted_ids(pairs: &[(&'static str, &str)]) -> (String, String, bool) {
        let cx = extract(&headers(pairs));
        let span = cx.span();
        let sc = span.span_context();
        (
            sc.trace_id().to_string(),
            sc.span_id().to_string(),
            sc.is_sampled(),
        )
    }

    #[test]
    fn every_format_is_read() {
        let expected = (TRACE.to_string(), PARENT.to_string(), true);
        let w3c = format!("00-{TRACE}-{PARENT}-01");
        let single = format!("{TRACE}-{PARENT}-1");
        assert_eq!(extracted_ids(&[("traceparent", &w3c)]), expected);
        assert_eq!(extracted_ids(&[("b3", &single)]), expected);
        assert_eq!(
            extracted_ids(&[
                ("x-b3-traceid", TRACE),
                ("x-b3-spanid", PARENT),
                ("x-b3-sampled", "1")
            ]),
            expected
        );
    }

    #[test]
    fn a_malformed_header_is_no_parent() {
        let cx = extract(&headers(&[("traceparent", "00-nonsense-01")]));
        assert!(!cx.span().span_context().is_valid());
    }

    #[test]
    fn w3c_replaces_the_copied_context_and_b3_follows_the_incoming_form() {
        let mut plain = headers(&[("traceparent", "00-old-old-01"), ("end-user", "jason")]);
        inject(&child(), &mut plain);
        assert_eq!(
            plain.get("traceparent").map(|v| v.as_bytes()),
            Some(format!("00-{TRACE}-{CHILD}-01").as_bytes())
        );
        assert!(plain.get("x-b3-traceid").is_none() && plain.get("b3").is_none());
        assert!(plain.get("end-user").is_some(), "other headers stay");

        let mut multi = headers(&[("x-b3-traceid", TRACE), ("x-b3-spanid", PARENT)]);
        inject(&child(), &mut multi);
        assert_eq!(
            multi.get("x-b3-spanid").map(|v| v.as_bytes()),
            Some(CHILD.as_bytes())
        );
        assert!(multi.get("traceparent").is_some() && multi.get("b3").is_none());

        let mut single = headers(&[("b3", "whatever")]);
        inject(&child(), &mut single);
        assert_eq!(
            single.get("b3").map(|v| v.as_bytes()),
            Some(format!("{TRACE}-{CHILD}-1").as_bytes())
        );
        assert!(single.get("x-b3-traceid").is_none());
    }

    #[test]
    fn with_tracing_off_the_copied_headers_travel_unchanged() {
        let mut copied = headers(&[("x-b3-traceid", TRACE), ("x-b3-spanid", PARENT)]);
        inject(&Context::new(), &mut copied);
        assert_eq!(
            copied.get("x-b3-spanid").map(|v| v.as_bytes()),
            Some(PARENT.as_bytes())
        );
    }
}
