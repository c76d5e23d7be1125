//! VirtualServices bound to gateways: the Gateway must exist, and let the VirtualService's hosts
//! in. Both are **warnings**: Istio accepts such a VirtualService, and its rules simply route
//! nothing through that gateway.
//!
//! - [`check_gateway_refs`]: a name in `spec.gateways` (or in a match's `gateways`) that no
//!   Gateway of the set has (`mesh`, the sidecars, always exists);
//! - [`check_gateway_hosts`]: a Gateway that exists, but none of whose servers lists any of the
//!   VirtualService's hosts.

use std::collections::BTreeMap;

use super::diagnostic;
use crate::diagnostics::{Diagnostic, Severity};
use crate::host;
use crate::model::{Gateway, Resource, Spec, VirtualService};

/// Every Gateway of the set by `namespace/name`.
fn gateways(resources: &[Resource]) -> BTreeMap<String, (&Resource, &Gateway)> {
    resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::Gateway(gw) => Some((format!("{}/{}", r.namespace(), r.metadata.name), (r, gw))),
            _ => None,
        })
        .collect()
}

/// `namespace/name` of a gateway a VirtualService of `namespace` names; `None` for `mesh`.
fn qualify(gateway: &str, namespace: &str) -> Option<String> {
    match gateway {
        "mesh" => None,
        named if named.contains('/') => Some(named.to_owned()),
        named => Some(format!("{namespace}/{named}")),
    }
}

/// Each gateway the VirtualService names, with its field path.
fn named_gateways(vs: &VirtualService) -> impl Iterator<Item = (String, &str)> {
    let top = vs
        .gateways
        .iter()
        .enumerate()
        .map(|(i, g)| (format!("spec.gateways[{i}]"), g.as_str()));
    let in_matches = vs.http.iter().enumerate().flat_map(|(i, rule)| {
        rule.matches.iter().enumerate().flat_map(move |(j, m)| {
            m.gateways.iter().enumerate().map(move |(k, g)| {
                (
                    format!("spec.http[{i}].match[{j}].gateways[{k}]"),
                    g.as_str(),
                )
            })
        })
    });
    top.chain(in_matches)
}

/// Gateways a VirtualService is bound to that no Gateway resource of the set defines.
pub fn check_gateway_refs(resources: &[Resource]) -> Vec<Diagnostic> {
    let known = gateways(resources);
    let mut out = Vec::new();
    for resource in resources {
        let Spec::VirtualService(vs) = &resource.spec else {
            continue;
        };
        for (path, name) in named_gateways(vs) {
            let Some(id) = qualify(name, resource.namespace()) else {
                continue;
            };
            if !known.contains_key(&id) {
                out.push(diagnostic(
                    resource,
                    Severity::Warning,
                    &path,
                    format!(
                        "Referenced gateway not found: {name:?} (no Gateway {id} is loaded: \
                         nothing comes in through it, and its rules route nothing)"
                    ),
                ));
            }
        }
    }
    out
}

/// A VirtualService bound to a Gateway that lists none of its hosts: the gateway never hands it
/// a request.
pub fn check_gateway_hosts(resources: &[Resource]) -> Vec<Diagnostic> {
    let known = gateways(resources);
    let mut out = Vec::new();
    for resource in resources {
        let Spec::VirtualService(vs) = &resource.spec else {
            continue;
        };
        let ns = resource.namespace();
        let hosts: Vec<String> = vs.hosts.iter().map(|h| host::qualify(h, ns)).collect();
        for (i, name) in vs.gateways.iter().enumerate() {
            let Some((gw_resource, gateway)) = qualify(name, ns).and_then(|id| known.get(&id))
            else {
                continue;
            };
            let admitted = gateway.servers.iter().flat_map(|s| &s.hosts).any(|listed| {
                // A Gateway host may carry a namespace part (`./x`, `prod/*`): the host follows `/`.
                let listed = listed.split_once('/').map_or(listed.as_str(), |(_, h)| h);
                let pattern = host::qualify(listed, gw_resource.namespace());
                hosts.iter().any(|h| {
                    host::match_score(&pattern, h).is_some()
                        || host::match_score(h, &pattern).is_some()
                })
            });
            if !admitted {
                out.push(diagnostic(
                    resource,
                    Severity::Warning,
                    &format!("spec.gateways[{i}]"),
                    format!(
                        "none of the hosts {:?} is listed by a server of Gateway {}/{}: the \
                         gateway lets no request for them in",
                        vs.hosts,
                        gw_resource.namespace(),
                        gw_resource.metadata.name
                    ),
                ));
            }
        }
    }
    out
}
