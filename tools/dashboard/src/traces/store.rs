//! The recent traces, in memory and bounded: at most `max_traces` traces (the oldest, by when
//! their first span arrived, is dropped for a new one) and at most `max_spans_per_trace` spans
//! in each (later spans of a full trace are dropped and counted). So the store never holds
//! more than `max_traces × max_spans_per_trace` spans, whatever the senders do.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// How much the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max_traces: usize,
    pub max_spans_per_trace: usize,
}

impl Default for Caps {
    /// 1000 traces of up to 500 spans: a few minutes of the local stack at 100 % sampling.
    fn default() -> Self {
        Caps {
            max_traces: 1000,
            max_spans_per_trace: 500,
        }
    }
}

/// One span as the pages show it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// Hex, 16 characters.
    pub span_id: String,
    /// Hex; `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The resource's `service.name` (`reviews.default`, `reviews`).
    pub service: String,
    /// The resource's `service.version`, when it has one.
    pub service_version: Option<String>,
    pub name: String,
    /// `server`, `client`, `internal`...
    pub kind: &'static str,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub error: bool,
    pub status_message: String,
    /// Every attribute, its value as text, in the order sent.
    pub attributes: Vec<(String, String)>,
}

impl SpanRecord {
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Hex, 32 characters.
    pub id: String,
    pub spans: Vec<SpanRecord>,
    /// Spans that arrived after the trace was full.
    pub dropped_spans: u64,
}

#[derive(Default)]
struct Inner {
    traces: HashMap<String, Trace>,
    /// Trace ids, oldest first.
    arrival: VecDeque<String>,
    dropped_traces: u64,
}

pub struct TraceStore {
    caps: Caps,
    inner: Mutex<Inner>,
}

/// Counts for the traces page's footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    pub traces: usize,
    pub dropped_traces: u64,
    pub caps: Caps,
}

impl TraceStore {
    pub fn new(caps: Caps) -> TraceStore {
        TraceStore {
            caps: Caps {
                max_traces: caps.max_traces.max(1),
                max_spans_per_trace: caps.max_spans_per_trace.max(1),
            },
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Adds spans of trace `trace_id`, dropping the oldest trace if a new one does not fit.
    pub fn add(&self, trace_id: String, spans: impl IntoIterator<Item = SpanRecord>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if !inner.traces.contains_key(&trace_id) {
            while inner.traces.len() >= self.caps.max_traces {
                let Some(oldest) = inner.arrival.pop_front() else {
                    break;
                };
                inner.traces.remove(&oldest);
                inner.dropped_traces += 1;
            }
            inner.arrival.push_back(trace_id.clone());
        }
        let cap = self.caps.max_spans_per_trace;
        let trace = inner
            .traces
            .entry(trace_id.clone())
            .or_insert_with(|| Trace {
                id: trace_id,
                ..Trace::default()
            });
        for span in spans {
            if trace.spans.len() < cap {
                trace.spans.push(span);
            } else {
                trace.dropped_spans += 1;
            }
        }
    }

    pub fn get(&self, trace_id: &str) -> Option<Trace> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.traces.get(trace_id).cloned()
    }

    /// Every trace, newest first.
    pub fn recent(&self) -> Vec<Trace> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .arrival
            .iter()
            .rev()
            .filter_map(|id| inner.traces.get(id).cloned())
            .collect()
    }

    pub fn stats(&self) -> StoreStats {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        StoreStats {
            traces: inner.traces.len(),
            dropped_traces: inner.dropped_traces,
            caps: self.caps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str) -> SpanRecord {
        SpanRecord {
            span_id: id.into(),
            parent_span_id: None,
            service: "reviews".into(),
            service_version: None,
            name: "GET /reviews/{id}".into(),
            kind: "server",
            start_unix_nanos: 1,
            end_unix_nanos: 2,
            error: false,
            status_message: String::new(),
            attributes: vec![],
        }
    }

    #[test]
    fn the_oldest_trace_makes_room_and_spans_stop_at_the_cap() {
        let store = TraceStore::new(Caps {
            max_traces: 2,
            max_spans_per_trace: 2,
        });
        store.add("a".into(), [span("1")]);
        store.add("b".into(), [span("1")]);
        store.add("a".into(), [span("2"), span("3")]);
        store.add("c".into(), [span("1")]);
        assert!(store.get("a").is_none(), "a arrived first");
        let ids: Vec<String> = store.recent().into_iter().map(|t| t.id).collect();
        assert_eq!(ids, ["c", "b"]);
        assert_eq!(store.stats().dropped_traces, 1);

        store.add("b".into(), [span("2"), span("3")]);
        let b = store.get("b").unwrap();
        assert_eq!(b.spans.len(), 2);
        assert_eq!(b.dropped_spans, 1);
    }
}
