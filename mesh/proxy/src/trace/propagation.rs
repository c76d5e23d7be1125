//! Trace context in HTTP headers: read the caller's, write this hop's.
//!
//! Two formats, each through OpenTelemetry's own propagator (no parser of ours):
//! - W3C Trace Context, `traceparent` and `tracestate` (`TraceContextPropagator`);
//! - B3, Zipkin's, as several headers (`x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid`,
//!   `x-b3-sampled`, `x-b3-flags`) or as one (`b3`) (`opentelemetry_zipkin::Propagator`).
//!
//! In: `traceparent` wins when it is valid, else B3. A malformed header is ignored, as if it
//! were absent: the request then starts a new trace, never fails.
//!
//! Out: this hop's span context replaces the caller's, always as `traceparent` (and
//! `tracestate` when there is one), and also as B3 when the request came with B3, in the same
//! encoding(s), as Envoy does for applications written for Zipkin. Multi-header B3 also gets
//! `x-b3-parentspanid`, the caller's span (the propagator leaves it out).
//!
//! The Zipkin crate marks all of its items deprecated because Zipkin itself now takes OTLP (its
//! exporter is what is meant); B3 headers are still what Zipkin-era applications send, and its
//! propagator is the one OpenTelemetry keeps for them, hence the `allow` below.
#![allow(deprecated)]

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_zipkin::{B3Encoding, Propagator as B3Propagator};

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
const B3_SINGLE: HeaderName = HeaderName::from_static("b3");
const B3_TRACE_ID: HeaderName = HeaderName::from_static("x-b3-traceid");
const B3_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-spanid");
const B3_PARENT_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-parentspanid");
const B3_SAMPLED: HeaderName = HeaderName::from_static("x-b3-sampled");
const B3_FLAGS: HeaderName = HeaderName::from_static("x-b3-flags");

/// Every B3 header, removed before this hop's are written.
const B3_HEADERS: [HeaderName; 6] = [
    B3_SINGLE,
    B3_TRACE_ID,
    B3_SPAN_ID,
    B3_PARENT_SPAN_ID,
    B3_SAMPLED,
    B3_FLAGS,
];

/// What the caller sent: its span (if a header carried a valid one) and the B3 encoding it
/// used (if any), which the request keeps on its way out.
#[derive(Debug, Default)]
pub struct Incoming {
    pub parent: Option<SpanContext>,
    pub b3: Option<B3Encoding>,
}

/// Read the caller's trace context from `headers`. A request without any of the headers costs
/// a few lookups and nothing else.
pub fn extract(headers: &HeaderMap) -> Incoming {
    let single = headers.contains_key(&B3_SINGLE);
    let multi = headers.contains_key(&B3_TRACE_ID);
    let b3_parent = if single || multi {
        valid(B3Propagator::new().extract(&Headers(headers)))
    } else {
        None
    };
    let w3c_parent = if headers.contains_key(&TRACEPARENT) {
        valid(TraceContextPropagator::new().extract(&Headers(headers)))
    } else {
        None
    };
    let b3 = b3_parent.as_ref().map(|_| match (single, multi) {
        (true, true) => B3Encoding::SingleAndMultiHeader,
        (true, false) => B3Encoding::SingleHeader,
        _ => B3Encoding::MultipleHeader,
    });
    Incoming {
        parent: w3c_parent.or(b3_parent),
        b3,
    }
}

/// The span context a propagator found, if it found a valid one.
fn valid(cx: Context) -> Option<SpanContext> {
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| context.clone())
}

/// Replace the trace headers of `headers` with `hop`, this hop's span context; `parent` is the
/// caller's, for `x-b3-parentspanid`.
pub fn inject(
    headers: &mut HeaderMap,
    hop: &SpanContext,
    parent: Option<&SpanContext>,
    b3: Option<&B3Encoding>,
) {
    let cx = Context::new().with_remote_span_context(hop.clone());
    headers.remove(&TRACESTATE);
    TraceContextPropagator::new().inject_context(&cx, &mut HeadersMut(headers));
    let Some(encoding) = b3 else { return };
    for name in B3_HEADERS {
        headers.remove(name);
    }
    B3Propagator::with_encoding(encoding.clone()).inject_context(&cx, &mut HeadersMut(headers));
    if !encoding.support(&B3Encoding::MultipleHeader) {
        // The propagator writes the multiple headers with every encoding (its test for
        // "unspecified", a zero bitmask, always passes): single in, single out only.
        for name in [B3_TRACE_ID, B3_SPAN_ID, B3_SAMPLED, B3_FLAGS] {
            headers.remove(name);
        }
    }
    if let Some(parent) = parent
        && encoding.support(&B3Encoding::MultipleHeader)
        && let Ok(value) = HeaderValue::try_from(parent.span_id().to_string())
    {
        headers.insert(B3_PARENT_SPAN_ID, value);
    }
}

/// The caller's headers, as the propagators read them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// The outgoing headers, as the propagators write them.
struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagators' header names are known: a constant name costs no allocation.
        let name = [TRACEPARENT, TRACESTATE]
            .into_iter()
            .chain(B3_HEADERS)
            .find(|name| name.as_str() == key)
            .or_else(|| HeaderName::from_bytes(key.as_bytes()).ok());
        let Some(name) = name else { return };
        if value.is_empty() {
            // The W3C propagator writes an empty `tracestate` when there is none.
            self.0.remove(name);
        } else if let Ok(value) = HeaderValue::try_from(value) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_static(k),
                    HeaderValue::from_str(v).expect("value"),
                )
            })
            .collect()
    }

    fn get<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// What a hop does to `sent`: read the caller's context, write a sampled span `0xabc` of
    /// the same trace.
    fn pass_through(sent: &mut HeaderMap) {
        let incoming = extract(sent);
        let parent = incoming.parent.clone().expect("a parent");
        let hop = SpanContext::new(
            parent.trace_id(),
            SpanId::from(0xabc_u64),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        inject(sent, &hop, Some(&parent), incoming.b3.as_ref());
    }

    #[test]
    fn traceparent_is_read_with_its_state() {
        let incoming = extract(&headers(&[
            ("traceparent", &format!("00-{TRACE}-{SPAN}-01")),
            ("tracestate", "vendor=x"),
        ]));
        let parent = incoming.parent.expect("a parent");
        assert_eq!(parent.trace_id().to_string(), TRACE);
        assert_eq!(parent.span_id().to_string(), SPAN);
        assert!(parent.is_sampled());
        assert_eq!(parent.trace_state().header(), "vendor=x");
        assert!(incoming.b3.is_none());
    }

    #[test]
    fn b3_is_read_in_both_encodings() {
        let multi = extract(&headers(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "0"),
        ]));
        let parent = multi.parent.expect("a parent");
        assert!(!parent.is_sampled());
        assert!(matches!(multi.b3, Some(B3Encoding::MultipleHeader)));
        let single = extract(&headers(&[("b3", &format!("{TRACE}-{SPAN}-1"))]));
        assert!(single.parent.expect("a parent").is_sampled());
        assert!(matches!(single.b3, Some(B3Encoding::SingleHeader)));
    }

    #[test]
    fn malformed_headers_are_ignored() {
        for bad in [
            headers(&[("traceparent", "00-not-a-trace-01")]),
            headers(&[("traceparent", &format!("00-{TRACE}-0000000000000000-01"))]),
            headers(&[("b3", "garbage")]),
            headers(&[("x-b3-traceid", "xyz"), ("x-b3-spanid", SPAN)]),
        ] {
            let incoming = extract(&bad);
            assert!(incoming.parent.is_none(), "{bad:?}");
            assert!(incoming.b3.is_none(), "{bad:?}");
        }
    }

    #[test]
    fn this_hop_replaces_the_callers_context_in_its_formats() {
        let mut sent = headers(&[
            ("traceparent", &format!("00-{TRACE}-{SPAN}-01")),
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "1"),
        ]);
        pass_through(&mut sent);
        assert_eq!(
            get(&sent, "traceparent"),
            format!("00-{TRACE}-0000000000000abc-01")
        );
        assert!(sent.get("tracestate").is_none());
        assert_eq!(get(&sent, "x-b3-traceid"), TRACE);
        assert_eq!(get(&sent, "x-b3-spanid"), "0000000000000abc");
        assert_eq!(get(&sent, "x-b3-parentspanid"), SPAN);
        assert_eq!(get(&sent, "x-b3-sampled"), "1");
        assert!(sent.get("b3").is_none());
    }

    #[test]
    fn single_header_b3_goes_out_as_a_single_header() {
        let mut sent = headers(&[("b3", &format!("{TRACE}-{SPAN}-1"))]);
        pass_through(&mut sent);
        assert_eq!(get(&sent, "b3"), format!("{TRACE}-0000000000000abc-1"));
        let mut names: Vec<&str> = sent.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["b3", "traceparent"]);
    }

    #[test]
    fn without_b3_in_there_is_no_b3_out() {
        let mut sent = HeaderMap::new();
        let hop = SpanContext::new(
            TraceId::from(1_u128),
            SpanId::from(2_u64),
            TraceFlags::NOT_SAMPLED,
            false,
            TraceState::default(),
        );
        inject(&mut sent, &hop, None, None);
        assert_eq!(
            get(&sent, "traceparent"),
            "00-00000000000000000000000000000001-0000000000000002-00"
        );
        assert_eq!(sent.len(), 1);
    }
}
