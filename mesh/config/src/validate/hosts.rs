//! Routes to hosts that no service has ([`check_hosts`]), given the services the caller knows.

use std::collections::BTreeSet;

use super::{diagnostic, route_targets};
use crate::diagnostics::{Diagnostic, Severity};
use crate::host;
use crate::model::{Resource, Spec};

/// Routes to hosts that no service has: a **warning** for each destination or mirror whose
/// host is neither in `services` (qualified names, e.g. those of the mesh's workload registry)
/// nor covered by a ServiceEntry of `resources`. As with an undefined subset, Istio accepts
/// such a VirtualService (`istioctl analyze` reports the host as not found), and every request
/// routed there fails: the sidecars answer 503 `NC`. The caller decides what the known services
/// are; this crate knows no registry.
pub fn check_hosts(resources: &[Resource], services: &BTreeSet<String>) -> Vec<Diagnostic> {
    let entries: Vec<String> = resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::ServiceEntry(se) => Some((r, se)),
            _ => None,
        })
        .flat_map(|(r, se)| se.hosts.iter().map(|h| host::qualify(h, r.namespace())))
        .collect();
    let known = |fqdn: &str| {
        services.contains(fqdn)
            || entries
                .iter()
                .any(|pattern| host::match_score(pattern, fqdn).is_some())
    };
    let mut out = Vec::new();
    for resource in resources {
        let Spec::VirtualService(vs) = &resource.spec else {
            continue;
        };
        for (path, destination) in route_targets(vs) {
            let fqdn = host::qualify(&destination.host, resource.namespace());
            if !destination.host.is_empty() && !known(&fqdn) {
                out.push(diagnostic(
                    resource,
                    Severity::Warning,
                    &format!("{path}.host"),
                    format!("no service has host {fqdn} (not in the mesh's registry, and no ServiceEntry lists it): requests routed here will fail (503 NC)"),
                ));
            }
        }
    }
    out
}
