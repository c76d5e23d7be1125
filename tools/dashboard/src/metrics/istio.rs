//! Istio's standard metrics, as both metrics sources read them: names, the labels that name
//! each end of a request, and which requests count as errors and as graph edges.

use std::collections::HashMap;

use crate::graph::model::{UNKNOWN, Workload};

/// The request counter.
pub const REQUESTS: &str = "istio_requests_total";
/// The cumulative buckets of the request duration histogram (milliseconds, label `le`).
pub const DURATION_BUCKET: &str = "istio_request_duration_milliseconds_bucket";

/// The labels Kiali groups `istio_requests_total` by to build its graph (its
/// `graph/telemetry/istio` package); the Prometheus source asks for the same.
pub const GRAPH_GROUP_BY: &[&str] = &[
    "source_workload_namespace",
    "source_workload",
    "source_canonical_service",
    "source_canonical_revision",
    "destination_service_namespace",
    "destination_service",
    "destination_service_name",
    "destination_workload_namespace",
    "destination_workload",
    "destination_canonical_service",
    "destination_canonical_revision",
    "request_protocol",
    "response_code",
    "grpc_response_status",
    "response_flags",
];

/// The labels that name both ends of an edge, for the latency quantiles per edge.
pub const EDGE_ENDS: &[&str] = &[
    "source_workload_namespace",
    "source_workload",
    "source_canonical_service",
    "source_canonical_revision",
    "destination_service",
    "destination_service_namespace",
    "destination_service_name",
    "destination_workload_namespace",
    "destination_workload",
    "destination_canonical_service",
    "destination_canonical_revision",
];

/// A sample's labels, whichever source it came from.
pub trait Labels {
    fn get(&self, name: &str) -> Option<&str>;

    /// The label's value, `unknown` when it is missing or empty (as Istio writes it).
    fn value(&self, name: &str) -> &str {
        match self.get(name) {
            Some(value) if !value.is_empty() => value,
            _ => UNKNOWN,
        }
    }
}

impl Labels for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Labels for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

/// Which end of a request a workload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Source,
    Destination,
}

impl End {
    pub fn prefix(self) -> &'static str {
        match self {
            End::Source => "source",
            End::Destination => "destination",
        }
    }
}

/// The workload at one end: its name and namespace, grouped by Istio's canonical service and
/// revision (the `app` and `version` labels when those are missing).
///
/// A request that reached no instance (a fault the caller's sidecar injected, an overflow, no
/// healthy endpoint) names no destination workload. Like Kiali, the graph then draws it to the
/// service it was for: a node named after the service, version `unknown`.
pub fn workload(labels: &(impl Labels + ?Sized), end: End) -> Workload {
    let prefix = end.prefix();
    let label = |name: &str| labels.value(&format!("{prefix}_{name}")).to_string();
    let first_known = |a: String, b: String| if a == UNKNOWN { b } else { a };
    let service = labels.value("destination_service_name");
    if end == End::Destination && label("workload") == UNKNOWN && service != UNKNOWN {
        return Workload {
            namespace: labels.value("destination_service_namespace").to_string(),
            name: service.to_string(),
            app: service.to_string(),
            version: UNKNOWN.to_string(),
        };
    }
    Workload {
        namespace: label("workload_namespace"),
        name: label("workload"),
        app: first_known(label("canonical_service"), label("app")),
        version: first_known(label("canonical_revision"), label("version")),
    }
}

/// Kiali's choice of series for the graph: what the caller's sidecar reports (`reporter=source`),
/// plus what a callee's sidecar reports of callers outside the mesh, which have no sidecar to
/// report them (`reporter=destination`, `source_workload=unknown`).
pub fn is_graph_series(labels: &(impl Labels + ?Sized)) -> bool {
    match labels.value("reporter") {
        "source" => true,
        "destination" => labels.value("source_workload") == UNKNOWN,
        _ => false,
    }
}

/// A failed request: answered 4xx or 5xx, or not answered at all (code 0).
pub fn is_error(labels: &(impl Labels + ?Sized)) -> bool {
    let code = labels.value("response_code");
    code == "0" || code.starts_with('4') || code.starts_with('5')
}

/// Workload names and namespaces that may go into a query or a page address: Kubernetes names
/// (letters, digits, `-`, `.`, `_`), so that a value can never escape its quotes in PromQL.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_workload_falls_back_to_app_and_version_labels() {
        let set = labels(&[
            ("source_workload", "reviews-v2"),
            ("source_workload_namespace", "default"),
            ("source_canonical_service", "unknown"),
            ("source_app", "reviews"),
            ("source_canonical_revision", "v2"),
        ]);
        let workload = workload(set.as_slice(), End::Source);
        assert_eq!(workload.name, "reviews-v2");
        assert_eq!(workload.app, "reviews");
        assert_eq!(workload.version, "v2");
        let missing = super::workload(set.as_slice(), End::Destination);
        assert_eq!(missing.name, UNKNOWN);
        assert_eq!(missing.namespace, UNKNOWN);
    }

    #[test]
    fn a_request_that_reached_no_instance_goes_to_its_service() {
        let faulted = labels(&[
            ("destination_workload", "unknown"),
            ("destination_service_name", "ratings"),
            ("destination_service_namespace", "default"),
        ]);
        let service = workload(faulted.as_slice(), End::Destination);
        assert_eq!(
            (service.namespace.as_str(), service.name.as_str()),
            ("default", "ratings")
        );
        assert_eq!(service.version, UNKNOWN);
        // A caller from outside the mesh stays unknown: it has no service.
        assert_eq!(workload(faulted.as_slice(), End::Source).name, UNKNOWN);
    }

    #[test]
    fn graph_series_are_source_reports_and_outside_callers() {
        let source = labels(&[("reporter", "source"), ("source_workload", "a")]);
        let inside = labels(&[("reporter", "destination"), ("source_workload", "a")]);
        let outside = labels(&[("reporter", "destination"), ("source_workload", "unknown")]);
        assert!(is_graph_series(source.as_slice()));
        assert!(!is_graph_series(inside.as_slice()));
        assert!(is_graph_series(outside.as_slice()));
    }

    #[test]
    fn errors_are_4xx_5xx_and_0() {
        for (code, error) in [
            ("200", false),
            ("302", false),
            ("404", true),
            ("503", true),
            ("0", true),
        ] {
            let set = labels(&[("response_code", code)]);
            assert_eq!(is_error(set.as_slice()), error, "{code}");
        }
    }

    #[test]
    fn safe_names_cannot_break_a_query() {
        assert!(is_safe_name("reviews-v2"));
        assert!(!is_safe_name("a\"}"));
        assert!(!is_safe_name(""));
    }
}
