//! Header propagation: the headers a service copies from the request it is serving onto the
//! requests it makes.
//!
//! A mesh sees each hop separately. To stitch hops into one trace, and to let routing rules
//! match on who the user is, the *application* must copy a few headers from its inbound request
//! to its outbound ones. The list is Bookinfo's (the one reviews uses, which is the longest):
//! trace context in every common format, plus `end-user`, the header that productpage sets
//! after login and that Istio's request-routing and fault-injection tasks match on.
//!
//! The trace context is the exception when the service traces itself (`telemetry`): then each
//! call to a peer is a span of its own, and [`trace_context::inject`] replaces the copied W3C and
//! B3 headers with that span's context. The other formats (Datadog, SkyWalking, ...) are still
//! copied verbatim.

pub mod trace_context;

use http::HeaderMap;

/// The headers copied verbatim, in lower case.
pub const FORWARDED_HEADERS: &[&str] = &[
    "x-request-id",
    "x-ot-span-context",
    "x-datadog-trace-id",
    "x-datadog-parent-id",
    "x-datadog-sampling-priority",
    "traceparent",
    "tracestate",
    "x-cloud-trace-context",
    "grpc-trace-bin",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "sw8",
    "end-user",
    "user-agent",
    "cookie",
    "authorization",
    "jwt",
];

/// The header productpage adds with the logged-in user's name.
pub const END_USER: &str = "end-user";

/// The subset of `incoming` that should travel on to the next hop.
pub fn forwarded(incoming: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in FORWARDED_HEADERS {
        for value in incoming.get_all(*name) {
            out.append(*name, value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn copies_trace_headers_and_end_user_and_drops_the_rest() {
        let mut incoming = HeaderMap::new();
        incoming.insert("X-Request-Id", HeaderValue::from_static("abc"));
        incoming.insert("x-b3-traceid", HeaderValue::from_static("463ac35c9f6413ad"));
        incoming.insert("end-user", HeaderValue::from_static("jason"));
        incoming.insert("content-length", HeaderValue::from_static("12"));
        incoming.insert("host", HeaderValue::from_static("productpage:9080"));

        let out = forwarded(&incoming);
        assert_eq!(
            out.get("x-request-id").map(|v| v.as_bytes()),
            Some(&b"abc"[..])
        );
        assert_eq!(
            out.get("x-b3-traceid").map(|v| v.as_bytes()),
            Some(&b"463ac35c9f6413ad"[..])
        );
        assert_eq!(
            out.get("end-user").map(|v| v.as_bytes()),
            Some(&b"jason"[..])
        );
        assert!(out.get("content-length").is_none());
        assert!(out.get("host").is_none());
    }
}
