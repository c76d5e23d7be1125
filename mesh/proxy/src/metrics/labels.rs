//! The label values of one side of a call (a workload) and of the service called, worked out
//! once from labels and names, as Istio's `istio_stats` filter and `pkg/kube/labels` do:
//!
//! | label                         | from                                                    |
//! |-------------------------------|---------------------------------------------------------|
//! | `*_workload`                  | the workload's name (`reviews-v2`)                      |
//! | `*_workload_namespace`        | its namespace                                           |
//! | `*_principal`                 | `unknown`: no mutual TLS yet, so no certificate names it |
//! | `*_app`, `*_version`          | the labels `app`, `version`                             |
//! | `*_canonical_service`         | `service.istio.io/canonical-name`, else `app.kubernetes.io/name`, else `app`, else the workload's name |
//! | `*_canonical_revision`        | `service.istio.io/canonical-revision`, else `app.kubernetes.io/version`, else `version`, else `latest` |
//! | `*_cluster`                   | the cluster it runs in (`Kubernetes`, Istio's default)  |
//!
//! Any value not known is `unknown`, except a canonical revision, which is `latest`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a value not known is shown as.
pub const UNKNOWN: &str = "unknown";
/// A canonical revision not known.
pub const LATEST: &str = "latest";

const CANONICAL_NAME: [&str; 3] = [
    "service.istio.io/canonical-name",
    "app.kubernetes.io/name",
    "app",
];
const CANONICAL_REVISION: [&str; 3] = [
    "service.istio.io/canonical-revision",
    "app.kubernetes.io/version",
    "version",
];

/// One side of a call: the eight values of its `source_*` or `destination_*` labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkloadLabels {
    pub workload: String,
    pub namespace: String,
    pub principal: String,
    pub app: String,
    pub version: String,
    pub canonical_service: String,
    pub canonical_revision: String,
    pub cluster: String,
}

impl WorkloadLabels {
    /// The other side, when nothing is known of it.
    pub fn unknown() -> WorkloadLabels {
        WorkloadLabels {
            workload: UNKNOWN.to_owned(),
            namespace: UNKNOWN.to_owned(),
            principal: UNKNOWN.to_owned(),
            app: UNKNOWN.to_owned(),
            version: UNKNOWN.to_owned(),
            canonical_service: UNKNOWN.to_owned(),
            canonical_revision: LATEST.to_owned(),
            cluster: UNKNOWN.to_owned(),
        }
    }

    /// A workload named `name` in `namespace` and `cluster`, with these labels; an empty
    /// string is a value not known.
    pub fn new(
        name: &str,
        namespace: &str,
        cluster: &str,
        labels: &BTreeMap<String, String>,
    ) -> WorkloadLabels {
        let known = |value: Option<&str>| match value {
            Some(value) if !value.is_empty() => value.to_owned(),
            _ => UNKNOWN.to_owned(),
        };
        let first = |keys: &[&str]| {
            keys.iter()
                .find_map(|key| labels.get(*key).filter(|v| !v.is_empty()))
                .map(String::as_str)
        };
        WorkloadLabels {
            workload: known(Some(name)),
            namespace: known(Some(namespace)),
            principal: UNKNOWN.to_owned(),
            app: known(labels.get("app").map(String::as_str)),
            version: known(labels.get("version").map(String::as_str)),
            canonical_service: known(first(&CANONICAL_NAME).or(Some(name))),
            canonical_revision: first(&CANONICAL_REVISION).unwrap_or(LATEST).to_owned(),
            cluster: known(Some(cluster)),
        }
    }

    /// Appends the side's eight labels (`side` is `source` or `destination`), each followed by
    /// a comma; the destination's also carry the service called, in Istio's order.
    pub fn write(&self, side: &str, service: Option<&ServiceLabels>, out: &mut String) {
        for (name, value) in [
            ("workload", &self.workload),
            ("workload_namespace", &self.namespace),
            ("principal", &self.principal),
            ("app", &self.app),
            ("version", &self.version),
        ] {
            label(out, side, name, value);
        }
        if let Some(service) = service {
            label(out, side, "service", &service.host);
            label(out, side, "service_name", &service.name);
            label(out, side, "service_namespace", &service.namespace);
        }
        for (name, value) in [
            ("canonical_service", &self.canonical_service),
            ("canonical_revision", &self.canonical_revision),
            ("cluster", &self.cluster),
        ] {
            label(out, side, name, value);
        }
    }
}

/// The service called: `destination_service` (its host, fully qualified), `_name` and
/// `_namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceLabels {
    pub host: String,
    pub name: String,
    pub namespace: String,
}

impl ServiceLabels {
    pub fn unknown() -> ServiceLabels {
        ServiceLabels {
            host: UNKNOWN.to_owned(),
            name: UNKNOWN.to_owned(),
            namespace: UNKNOWN.to_owned(),
        }
    }

    /// The service `name` whose host is `qualified` (`reviews.default.svc.cluster.local`, as
    /// `mesh_config::host::qualify` writes it): the namespace is the host's second part when it
    /// is a cluster service name.
    pub fn new(name: &str, qualified: &str) -> ServiceLabels {
        let namespace = match qualified.split('.').collect::<Vec<_>>().as_slice() {
            [_, namespace, "svc", ..] => (*namespace).to_owned(),
            _ => UNKNOWN.to_owned(),
        };
        let or_unknown = |text: &str| {
            if text.is_empty() {
                UNKNOWN.to_owned()
            } else {
                text.to_owned()
            }
        };
        ServiceLabels {
            host: or_unknown(qualified),
            name: or_unknown(name),
            namespace,
        }
    }
}

/// Appends `side_name="value",`, the value escaped as the text format asks (`\\`, `\"`, `\n`).
pub fn label(out: &mut String, side: &str, name: &str, value: &str) {
    if side.is_empty() {
        let _ = write!(out, "{name}=\"");
    } else {
        let _ = write!(out, "{side}_{name}=\"");
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\",");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn canonical_names_follow_istios_order_of_labels() {
        let plain = WorkloadLabels::new(
            "reviews-v2",
            "default",
            "Kubernetes",
            &labels(&[("app", "reviews"), ("version", "v2")]),
        );
        assert_eq!(plain.canonical_service, "reviews");
        assert_eq!(plain.canonical_revision, "v2");
        assert_eq!(
            (plain.app.as_str(), plain.version.as_str()),
            ("reviews", "v2")
        );
        assert_eq!(plain.principal, UNKNOWN);

        let canonical = WorkloadLabels::new(
            "reviews-v2",
            "default",
            "",
            &labels(&[
                ("app", "reviews"),
                ("app.kubernetes.io/name", "reviews-k8s"),
                ("service.istio.io/canonical-revision", "r7"),
                ("version", "v2"),
            ]),
        );
        assert_eq!(canonical.canonical_service, "reviews-k8s");
        assert_eq!(canonical.canonical_revision, "r7");
        assert_eq!(canonical.cluster, UNKNOWN);

        let bare = WorkloadLabels::new("gateway", "", "", &BTreeMap::new());
        assert_eq!(
            bare.canonical_service, "gateway",
            "the workload's name last"
        );
        assert_eq!(bare.canonical_revision, LATEST);
        assert_eq!(
            (bare.app.as_str(), bare.namespace.as_str()),
            (UNKNOWN, UNKNOWN)
        );
    }

    #[test]
    fn a_service_namespace_comes_from_its_qualified_host() {
        let reviews = ServiceLabels::new("reviews", "reviews.bookinfo.svc.cluster.local");
        assert_eq!(reviews.namespace, "bookinfo");
        assert_eq!(
            ServiceLabels::new("httpbin.org", "httpbin.org").namespace,
            UNKNOWN
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        label(&mut out, "source", "workload", "a\"b\\c\nd");
        assert_eq!(out, "source_workload=\"a\\\"b\\\\c\\nd\",");
    }
}
