//! What the traces pages show of the store: a summary line per trace, the filters of `/traces`,
//! and the waterfall of one trace (spans in parent-then-children order, each placed on the
//! trace's time line).

use std::collections::{HashMap, HashSet};

use super::store::{SpanRecord, Trace};

/// One line of `/traces`.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub id: String,
    pub root_service: String,
    pub root_name: String,
    /// `HH:MM:SS.mmm` UTC of the first span's start.
    pub started: String,
    pub duration_ms: f64,
    pub span_count: usize,
    pub error: bool,
    pub services: Vec<String>,
}

pub fn summary(trace: &Trace) -> Summary {
    let (start, end) = bounds(trace);
    let ids = span_ids(trace);
    // The root: the earliest span without a parent here.
    let root = trace
        .spans
        .iter()
        .filter(|s| parent_in(s, &ids).is_none())
        .min_by_key(|s| s.start_unix_nanos);
    let mut services: Vec<String> = trace.spans.iter().map(|s| s.service.clone()).collect();
    services.sort();
    services.dedup();
    Summary {
        id: trace.id.clone(),
        root_service: root.map(|s| s.service.clone()).unwrap_or_default(),
        root_name: root.map(|s| s.name.clone()).unwrap_or_default(),
        started: clock(start),
        duration_ms: millis(end.saturating_sub(start)),
        span_count: trace.spans.len(),
        error: trace.spans.iter().any(|s| s.error),
        services,
    }
}

/// The filters of `/traces`, each optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// A span of this service (`service.name`, or its part before the first `.`).
    pub service: Option<String>,
    pub errors_only: bool,
    /// A trace id, or its beginning.
    pub id: Option<String>,
    /// Workloads of a graph edge: the trace has a span of each.
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Filter {
    pub fn accepts(&self, trace: &Trace, summary: &Summary) -> bool {
        let has = |workload: &Option<String>| {
            workload
                .as_deref()
                .is_none_or(|w| trace.spans.iter().any(|s| is_of_workload(s, w)))
        };
        (!self.errors_only || summary.error)
            && self.id.as_deref().is_none_or(|id| trace.id.starts_with(id))
            && self.service.as_deref().is_none_or(|wanted| {
                trace
                    .spans
                    .iter()
                    .any(|s| s.service == wanted || base_service(&s.service) == wanted)
            })
            && has(&self.from)
            && has(&self.to)
    }
}

/// `reviews.default` → `reviews`.
fn base_service(service: &str) -> &str {
    service.split('.').next().unwrap_or(service)
}

/// Whether a span comes from workload `workload` (`reviews-v2`): spans name their service
/// (`reviews`, or `reviews.default` as Istio names a sidecar's), and the version when known,
/// so a workload matches its app's spans of its version, or of any version when unsaid.
pub fn is_of_workload(span: &SpanRecord, workload: &str) -> bool {
    let base = base_service(&span.service);
    if span.service == workload || base == workload {
        return true;
    }
    match &span.service_version {
        Some(version) => workload == format!("{base}-{version}"),
        None => workload
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('-')),
    }
}

/// One row of the waterfall.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub span: SpanRecord,
    pub depth: usize,
    /// Where the bar starts and how long it is, in percent of the trace's duration.
    pub offset_pct: f64,
    pub width_pct: f64,
    pub duration_ms: f64,
}

/// The spans depth first: each root (by start time), then its children by start time.
pub fn waterfall(trace: &Trace) -> Vec<Row> {
    let (start, end) = bounds(trace);
    let total = end.saturating_sub(start).max(1) as f64;
    let ids = span_ids(trace);
    let mut children: HashMap<Option<&str>, Vec<&SpanRecord>> = HashMap::new();
    for span in &trace.spans {
        children
            .entry(parent_in(span, &ids))
            .or_default()
            .push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| (s.start_unix_nanos, s.span_id.as_str()));
    }
    let mut rows = Vec::with_capacity(trace.spans.len());
    let mut visited = HashSet::new();
    // An explicit stack instead of recursion: a trace's depth is whatever senders make it.
    let mut stack: Vec<(&SpanRecord, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|s| (*s, 0)).collect())
        .unwrap_or_default();
    while let Some((span, depth)) = stack.pop() {
        if !visited.insert(span.span_id.as_str()) {
            continue;
        }
        let offset = span.start_unix_nanos.saturating_sub(start) as f64;
        rows.push(Row {
            span: span.clone(),
            depth,
            offset_pct: offset / total * 100.0,
            width_pct: (span.duration_nanos() as f64 / total * 100.0).max(0.5),
            duration_ms: millis(span.duration_nanos()),
        });
        if let Some(kids) = children.get(&Some(span.span_id.as_str())) {
            stack.extend(kids.iter().rev().map(|kid| (*kid, depth + 1)));
        }
    }
    rows
}

/// When the trace's first span started and its last one ended, Unix nanoseconds.
fn bounds(trace: &Trace) -> (u64, u64) {
    let start = trace.spans.iter().map(|s| s.start_unix_nanos).min();
    let end = trace.spans.iter().map(|s| s.end_unix_nanos).max();
    (start.unwrap_or(0), end.unwrap_or(0))
}

fn span_ids(trace: &Trace) -> HashSet<&str> {
    trace.spans.iter().map(|s| s.span_id.as_str()).collect()
}

/// A span's parent among the spans received: `None` for a root, and for a span whose parent
/// never arrived (not sampled there, not exported yet, or dropped at the cap).
fn parent_in<'a>(span: &'a SpanRecord, ids: &HashSet<&str>) -> Option<&'a str> {
    span.parent_span_id.as_deref().filter(|p| ids.contains(p))
}

fn millis(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// `HH:MM:SS.mmm` of a Unix time in nanoseconds, UTC.
fn clock(unix_nanos: u64) -> String {
    let millis = unix_nanos / 1_000_000;
    let seconds = millis / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, service: &str, start: u64, end: u64) -> SpanRecord {
        SpanRecord {
            span_id: id.into(),
            parent_span_id: parent.map(str::to_string),
            service: service.into(),
            service_version: None,
            name: format!("span {id}"),
            kind: "server",
            start_unix_nanos: start,
            end_unix_nanos: end,
            error: false,
            status_message: String::new(),
            attributes: vec![],
        }
    }

    fn trace() -> Trace {
        Trace {
            id: "abcd".into(),
            spans: vec![
                span("c2", Some("a"), "ratings", 60_000_000, 90_000_000),
                span("a", None, "productpage.default", 0, 100_000_000),
                span("c1", Some("a"), "reviews", 10_000_000, 50_000_000),
                span("g", Some("c1"), "ratings", 20_000_000, 40_000_000),
            ],
            dropped_spans: 0,
        }
    }

    #[test]
    fn the_waterfall_puts_children_under_parents_in_start_order() {
        let rows = waterfall(&trace());
        let order: Vec<(&str, usize)> = rows
            .iter()
            .map(|r| (r.span.span_id.as_str(), r.depth))
            .collect();
        assert_eq!(order, [("a", 0), ("c1", 1), ("g", 2), ("c2", 1)]);
        assert_eq!(rows[1].offset_pct, 10.0);
        assert_eq!(rows[1].width_pct, 40.0);
        assert_eq!(rows[1].duration_ms, 40.0);
    }

    #[test]
    fn the_summary_names_the_root_and_the_whole_duration() {
        let summary = summary(&trace());
        assert_eq!(summary.root_service, "productpage.default");
        assert_eq!(summary.duration_ms, 100.0);
        assert_eq!(summary.span_count, 4);
        assert_eq!(summary.started, "00:00:00.000");
    }

    #[test]
    fn workloads_match_spans_by_service_and_version() {
        let mut reviews = span("x", None, "reviews.default", 0, 1);
        assert!(is_of_workload(&reviews, "reviews-v2"));
        assert!(!is_of_workload(&reviews, "ratings-v1"));
        reviews.service_version = Some("v3".into());
        assert!(!is_of_workload(&reviews, "reviews-v2"));
        assert!(is_of_workload(&reviews, "reviews-v3"));
    }

    #[test]
    fn filters_combine() {
        let trace = trace();
        let summary = summary(&trace);
        let edge = Filter {
            from: Some("productpage-v1".into()),
            to: Some("ratings-v1".into()),
            ..Filter::default()
        };
        assert!(edge.accepts(&trace, &summary));
        let errors = Filter {
            errors_only: true,
            ..Filter::default()
        };
        assert!(!errors.accepts(&trace, &summary));
        let service = Filter {
            service: Some("productpage".into()),
            id: Some("ab".into()),
            ..Filter::default()
        };
        assert!(service.accepts(&trace, &summary));
    }
}
