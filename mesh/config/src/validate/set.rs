//! The checks across a whole set of files ([`check_set`]): duplicates between files, and routes
//! to subsets that no DestinationRule defines.

use std::collections::{BTreeSet, HashMap};

use super::duplicates::check_duplicates;
use super::{diagnostic, route_targets};
use crate::diagnostics::{Diagnostic, Severity};
use crate::host;
use crate::model::{Resource, Spec};

/// Checks across a whole set: duplicates between files ([`check_duplicates_across_files`]), and
/// routes to subsets no DestinationRule defines ([`check_subsets`], a warning, see the
/// `validate` module doc).
pub fn check_set(resources: &[Resource]) -> Vec<Diagnostic> {
    let mut out = check_duplicates_across_files(resources);
    out.extend(check_subsets(resources));
    out
}

/// Duplicate (kind, namespace, name) between two files: duplicates inside one file were
/// reported when it was loaded.
pub fn check_duplicates_across_files(resources: &[Resource]) -> Vec<Diagnostic> {
    check_duplicates(resources)
        .into_iter()
        .filter(|d| {
            !d.message
                .contains(&format!("already defined at {}:", d.file))
        })
        .collect()
}

/// Routes and mirrors to a subset that no DestinationRule of `resources` defines: a warning
/// each (Istio accepts them; requests routed there fail with 503).
pub fn check_subsets(resources: &[Resource]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut subsets: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for resource in resources {
        if let Spec::DestinationRule(dr) = &resource.spec {
            let fqdn = host::qualify(&dr.host, resource.namespace());
            subsets
                .entry(fqdn)
                .or_default()
                .extend(dr.subsets.iter().map(|s| s.name.as_str()));
        }
    }
    for resource in resources {
        let Spec::VirtualService(vs) = &resource.spec else {
            continue;
        };
        for (path, destination) in route_targets(vs) {
            let Some(subset) = &destination.subset else {
                continue;
            };
            let fqdn = host::qualify(&destination.host, resource.namespace());
            if !subsets
                .get(&fqdn)
                .is_some_and(|names| names.contains(subset.as_str()))
            {
                out.push(diagnostic(
                    resource,
                    Severity::Warning,
                    &format!("{path}.subset"),
                    format!("no DestinationRule defines subset {subset:?} of {fqdn}: requests routed here will fail (503)"),
                ));
            }
        }
    }
    out
}
