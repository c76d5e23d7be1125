//! Checks against the workloads that run ([`check_subset_labels`]): what a DestinationRule's
//! subsets select. The caller says which workloads exist (the control plane knows them); this
//! crate knows no registry.

use std::collections::BTreeMap;

use super::diagnostic;
use crate::diagnostics::{Diagnostic, Severity};
use crate::host;
use crate::model::{Resource, Spec};

/// One running instance of a service, as the mesh knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Its name, e.g. the proxy id `reviews-v2`, to name it in messages.
    pub name: String,
    /// The qualified host of its service (`reviews.default.svc.cluster.local`).
    pub service: String,
    /// Its labels (`app`, `version`).
    pub labels: BTreeMap<String, String>,
}

/// A DestinationRule subset whose labels no workload of its host has: a **warning** (every
/// request routed to the subset fails: 503 `UH`, no healthy upstream). A DestinationRule whose
/// host has no workload at all is left alone (the service may simply not run yet), and so is a
/// wildcard host.
pub fn check_subset_labels(resources: &[Resource], workloads: &[Workload]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for resource in resources {
        let Spec::DestinationRule(dr) = &resource.spec else {
            continue;
        };
        let fqdn = host::qualify(&dr.host, resource.namespace());
        let of_host: Vec<&Workload> = workloads.iter().filter(|w| w.service == fqdn).collect();
        if of_host.is_empty() {
            continue;
        }
        for (i, subset) in dr.subsets.iter().enumerate() {
            let selects = |w: &&Workload| {
                subset
                    .labels
                    .iter()
                    .all(|(k, v)| w.labels.get(k) == Some(v))
            };
            if of_host.iter().any(selects) {
                continue;
            }
            let have: Vec<String> = of_host
                .iter()
                .map(|w| format!("{} {}", w.name, labels_text(&w.labels)))
                .collect();
            out.push(diagnostic(
                resource,
                Severity::Warning,
                &format!("spec.subsets[{i}].labels"),
                format!(
                    "No matching workloads for subset {:?} of {fqdn} with the labels {}: \
                     requests routed to it will fail (503 UH); its workloads are {}",
                    subset.name,
                    labels_text(&subset.labels),
                    have.join(", ")
                ),
            ));
        }
    }
    out
}

/// `app=reviews,version=v2`.
fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
