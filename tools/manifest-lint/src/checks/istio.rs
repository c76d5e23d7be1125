//! Every VirtualService routes to what is there. Its `hosts` (when it applies to the mesh, not
//! only to a Gateway) and every destination `host` are a Service or a ServiceEntry host of the
//! manifests, qualified as Istio qualifies them (a short name in the VirtualService's own
//! namespace); every `subset` a destination names is defined by a DestinationRule for that host,
//! and its labels select at least one pod template behind the Service. Each mistake is a 503
//! (`NR`, `UH`) at run time, never an error when the YAML is applied.
//!
//! `sailkit analyze` makes the same checks on Istio YAML against the running stack's
//! workloads; here the workloads are the manifests' pod templates.

use std::collections::BTreeSet;

use mesh_config::host;
use serde_json::Value;

use crate::finding::{Check, Finding};
use crate::inventory::{ISTIO_NETWORKING, Inventory, service_selector};
use crate::object::{Labels, Object, get, items, show_labels, to_labels};

pub fn check(inventory: &Inventory<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for vs in inventory.of_kind(ISTIO_NETWORKING, "VirtualService") {
        let gateways: Vec<&str> = items(get(&vs.value, "spec.gateways"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        // Bound to Gateways only, its hosts are the names clients outside use, not Services.
        if gateways.is_empty() || gateways.contains(&"mesh") {
            for (i, written) in items(get(&vs.value, "spec.hosts")).iter().enumerate() {
                let Some(written) = written.as_str() else {
                    continue;
                };
                if let Some(message) = missing_host(inventory, vs, written) {
                    findings.push(Finding::at(
                        Check::Istio,
                        vs,
                        &format!("spec.hosts[{i}]"),
                        message,
                    ));
                }
            }
        }
        for (path, destination) in destinations(&vs.value) {
            let Some(written) = destination.get("host").and_then(Value::as_str) else {
                continue;
            };
            if let Some(message) = missing_host(inventory, vs, written) {
                findings.push(Finding::at(
                    Check::Istio,
                    vs,
                    &format!("{path}.host"),
                    message,
                ));
                continue;
            }
            if let Some(subset) = destination.get("subset").and_then(Value::as_str)
                && let Some(message) = subset_problem(inventory, vs, written, subset)
            {
                findings.push(Finding::at(
                    Check::Istio,
                    vs,
                    &format!("{path}.subset"),
                    message,
                ));
            }
        }
    }
    findings
}

/// Every `destination` (and `mirror`) of the http, tcp and tls routes, with its path.
fn destinations(vs: &Value) -> Vec<(String, &Value)> {
    let mut found = Vec::new();
    for section in ["http", "tcp", "tls"] {
        for (r, rule) in items(get(vs, &format!("spec.{section}")))
            .iter()
            .enumerate()
        {
            let rule_path = format!("spec.{section}[{r}]");
            for (d, route) in items(rule.get("route")).iter().enumerate() {
                if let Some(destination) = route.get("destination") {
                    found.push((format!("{rule_path}.route[{d}].destination"), destination));
                }
            }
            if let Some(mirror) = rule.get("mirror") {
                found.push((format!("{rule_path}.mirror"), mirror));
            }
        }
    }
    found
}

fn missing_host(inventory: &Inventory<'_>, vs: &Object, written: &str) -> Option<String> {
    if written.contains('*') {
        return None;
    }
    let fqdn = host::qualify(written, &vs.namespace);
    if inventory.service(&fqdn).is_some() || inventory.service_entry_has(&fqdn) {
        return None;
    }
    Some(format!(
        "host {written} ({fqdn}) is neither a Service nor a ServiceEntry host of the manifests"
    ))
}

fn subset_problem(
    inventory: &Inventory<'_>,
    vs: &Object,
    written: &str,
    subset: &str,
) -> Option<String> {
    let fqdn = host::qualify(written, &vs.namespace);
    let rules: Vec<&Object> = inventory
        .of_kind(ISTIO_NETWORKING, "DestinationRule")
        .filter(|dr| {
            get(&dr.value, "spec.host")
                .and_then(Value::as_str)
                .is_some_and(|h| host::qualify(h, &dr.namespace) == fqdn)
        })
        .collect();
    let subsets: Vec<&Value> = rules
        .iter()
        .flat_map(|dr| items(get(&dr.value, "spec.subsets")))
        .collect();
    let Some(defined) = subsets
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(subset))
    else {
        let names: BTreeSet<&str> = subsets
            .iter()
            .filter_map(|s| s.get("name").and_then(Value::as_str))
            .collect();
        return Some(match rules.first() {
            None => format!("subset {subset} of {written}: no DestinationRule has host {fqdn}"),
            Some(dr) => format!(
                "subset {subset} of {written} is not defined by {dr} (its subsets: {})",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    };
    // A ServiceEntry's endpoints are not pods of the manifests: nothing to select.
    let service = inventory.service(&fqdn)?;
    let mut wanted: Labels = service_selector(service);
    let subset_labels = to_labels(defined.get("labels").unwrap_or(&Value::Null));
    wanted.extend(subset_labels.clone());
    if inventory.selected(&service.namespace, &wanted).is_empty() {
        return Some(format!(
            "subset {subset} of {written} (labels {}) selects no pod template of {service}",
            show_labels(&subset_labels)
        ));
    }
    None
}
