//! The sampling decision: is this request's trace recorded?
//!
//! Made once per trace, by the first proxy it crosses, and carried by the trace context to
//! every later hop, which keeps it: that is how a trace is whole or absent, never in pieces.
//! A request that arrives with a decision (the `traceparent` flags, `x-b3-sampled`, the third
//! part of `b3`, or B3's debug flag) keeps it, `x-b3-sampled: 0` included; one without a trace
//! context, or with a B3 context whose decision was deferred (no sampled field), is sampled at
//! random with the probability `--trace-sampling` gives (Istio's 1 % by default).
//!
//! Why not the SDK's `ParentBased` sampler: it reads a parent without the sampled bit as "not
//! sampled", and B3's deferred decision would then turn every such request down.

use opentelemetry::trace::{SpanContext, TraceFlags};

/// The B3 propagator's mark for "no decision yet" (a B3 context without `x-b3-sampled`); not a
/// W3C flag, which the W3C propagator clears on the way in.
pub const DEFERRED: TraceFlags = TraceFlags::new(0x02);

/// `--trace-sampling`: the share of new traces that are sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    percent: f64,
}

impl Sampling {
    /// `percent`, from 0 to 100 (clamped: the command line already refuses anything else).
    pub fn percent(percent: f64) -> Sampling {
        Sampling {
            percent: percent.clamp(0.0, 100.0),
        }
    }

    /// Whether a request whose incoming context is `parent` is sampled. `roll` is a number
    /// drawn uniformly from `[0, 1)`, used only when the parent has no decision.
    pub fn decide(&self, parent: Option<&SpanContext>, roll: f64) -> bool {
        match parent {
            Some(parent) if parent.trace_flags() & DEFERRED != DEFERRED => parent.is_sampled(),
            _ => roll * 100.0 < self.percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId, TraceState};

    use super::*;

    fn parent(flags: TraceFlags) -> SpanContext {
        SpanContext::new(
            TraceId::from(7_u128),
            SpanId::from(9_u64),
            flags,
            true,
            TraceState::default(),
        )
    }

    #[test]
    fn an_incoming_decision_is_kept_whatever_the_percentage() {
        let all = Sampling::percent(100.0);
        let none = Sampling::percent(0.0);
        assert!(!all.decide(Some(&parent(TraceFlags::NOT_SAMPLED)), 0.0));
        assert!(none.decide(Some(&parent(TraceFlags::SAMPLED)), 0.99));
    }

    #[test]
    fn without_a_decision_the_percentage_rolls() {
        let one = Sampling::percent(1.0);
        assert!(one.decide(None, 0.009));
        assert!(!one.decide(None, 0.01));
        assert!(one.decide(Some(&parent(DEFERRED)), 0.0));
        assert!(!Sampling::percent(0.0).decide(None, 0.0));
        assert!(Sampling::percent(100.0).decide(None, 0.999_999));
    }
}
