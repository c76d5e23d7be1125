//! The failures of one request: read from a peer's answer, written onto our own.
//!
//! The facts are kept as the header values they came in: a service passes them on, it does not
//! interpret them. Each failure is a hop, its flags and its elapsed time; the n-th value of
//! `x-sailkit-flags` and of `x-sailkit-elapsed-ms` belongs to the n-th `x-sailkit-failed-hop`,
//! and `-` stands for a fact a failure did not give (as Envoy's access log writes a missing
//! field), so that the order holds when an answer passes on several failures.

use http::{HeaderMap, HeaderValue};

use super::{ELAPSED_MS, FAILED_HOP, FLAGS, MAX_FAILED_HOPS, TRACE_ID};

/// Written for a fact a failure did not give.
const UNKNOWN: &str = "-";

/// One failed hop, as its headers said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedHop {
    /// `reviews-v2 -> ratings:9080`.
    pub hop: HeaderValue,
    /// `FI`, `UF,URX`.
    pub flags: Option<HeaderValue>,
    pub elapsed_ms: Option<HeaderValue>,
}

/// Every failure seen while serving one request (at most [`MAX_FAILED_HOPS`]), and the trace
/// ids they came with (each once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailedHops {
    hops: Vec<FailedHop>,
    trace_ids: Vec<HeaderValue>,
}

impl FailedHops {
    /// No failure seen.
    pub fn is_empty(&self) -> bool {
        self.hops.is_empty()
    }

    /// The failures, in the order they were seen.
    pub fn hops(&self) -> &[FailedHop] {
        &self.hops
    }

    /// Adds the failures an answer names: one when a proxy made the answer, each of its own
    /// when a service passes failures on. An answer that names none adds nothing.
    pub fn read(&mut self, headers: &HeaderMap) {
        let mut named = headers.get_all(FAILED_HOP).iter().peekable();
        if named.peek().is_none() {
            return;
        }
        let mut flags = headers.get_all(FLAGS).iter();
        let mut elapsed = headers.get_all(ELAPSED_MS).iter();
        let known = |value: Option<&HeaderValue>| value.filter(|v| *v != UNKNOWN).cloned();
        for hop in named {
            let failure = FailedHop {
                hop: hop.clone(),
                flags: known(flags.next()),
                elapsed_ms: known(elapsed.next()),
            };
            if self.hops.len() < MAX_FAILED_HOPS {
                self.hops.push(failure);
            }
        }
        for trace_id in headers.get_all(TRACE_ID) {
            if self.trace_ids.len() < MAX_FAILED_HOPS && !self.trace_ids.contains(trace_id) {
                self.trace_ids.push(trace_id.clone());
            }
        }
    }

    /// Adds the failures to `headers`, the answer's; nothing when there were none.
    pub fn write(&self, headers: &mut HeaderMap) {
        let or_unknown = |value: &Option<HeaderValue>| {
            value.clone().unwrap_or(HeaderValue::from_static(UNKNOWN))
        };
        for failure in &self.hops {
            headers.append(FAILED_HOP, failure.hop.clone());
            headers.append(FLAGS, or_unknown(&failure.flags));
            headers.append(ELAPSED_MS, or_unknown(&failure.elapsed_ms));
        }
        for trace_id in &self.trace_ids {
            headers.append(TRACE_ID, trace_id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .collect()
    }

    /// What a proxy's own answer says (see the proxy's `failure`).
    fn proxy_answer() -> HeaderMap {
        headers(&[
            ("x-sailkit-failed", "upstream"),
            ("x-sailkit-flags", "FI"),
            ("x-sailkit-failed-hop", "reviews-v2 -> ratings:9080"),
            ("x-sailkit-elapsed-ms", "3"),
            ("x-sailkit-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ])
    }

    #[test]
    fn a_proxy_answer_is_passed_on_as_it_came() {
        let mut seen = FailedHops::default();
        seen.read(&proxy_answer());
        let mut ours = HeaderMap::new();
        seen.write(&mut ours);
        assert_eq!(values(&ours, FAILED_HOP), ["reviews-v2 -> ratings:9080"]);
        assert_eq!(values(&ours, FLAGS), ["FI"]);
        assert_eq!(values(&ours, ELAPSED_MS), ["3"]);
        assert_eq!(
            values(&ours, TRACE_ID),
            ["4bf92f3577b34da6a3ce929d0e0e4736"]
        );
        // Who failed is the proxy's word on its own answer, not passed on.
        assert!(ours.get("x-sailkit-failed").is_none());
    }

    #[test]
    fn an_answer_without_a_failed_hop_adds_nothing() {
        let mut seen = FailedHops::default();
        seen.read(&headers(&[
            ("content-type", "application/json"),
            ("x-sailkit-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ]));
        assert!(seen.is_empty());
        let mut ours = HeaderMap::new();
        seen.write(&mut ours);
        assert!(ours.is_empty());
    }

    #[test]
    fn passed_on_failures_keep_their_order_and_one_trace_id() {
        let mut reviews = FailedHops::default();
        reviews.read(&proxy_answer());
        reviews.read(&headers(&[
            (
                "x-sailkit-failed-hop",
                "reviews-v2 -> ratings:9080 (10.0.0.7:9080)",
            ),
            ("x-sailkit-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ]));
        let mut answer = HeaderMap::new();
        reviews.write(&mut answer);
        assert_eq!(values(&answer, FLAGS), ["FI", "-"]);

        // productpage reads reviews' answer: the same two failures, in the same order.
        let mut productpage = FailedHops::default();
        productpage.read(&answer);
        assert_eq!(productpage, reviews);
        let mut page = HeaderMap::new();
        productpage.write(&mut page);
        assert_eq!(
            values(&page, FAILED_HOP),
            [
                "reviews-v2 -> ratings:9080",
                "reviews-v2 -> ratings:9080 (10.0.0.7:9080)"
            ]
        );
        assert_eq!(values(&page, ELAPSED_MS), ["3", "-"]);
        assert_eq!(values(&page, TRACE_ID).len(), 1);
    }

    #[test]
    fn the_failures_kept_are_bounded() {
        let mut seen = FailedHops::default();
        for _ in 0..MAX_FAILED_HOPS + 3 {
            seen.read(&proxy_answer());
        }
        assert_eq!(seen.hops().len(), MAX_FAILED_HOPS);
    }
}
