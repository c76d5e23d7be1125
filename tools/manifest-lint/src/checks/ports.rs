//! Every port of a Service targets a port the pods it selects declare: `targetPort` by number
//! (`containerPort`) or by name (a named container port, resolved in each pod). A named
//! `targetPort` that a pod does not have leaves that pod out of the Service's endpoints; a
//! number that no container declares usually means a port nobody listens on.

use serde_json::Value;

use crate::finding::{Check, Finding};
use crate::inventory::{Inventory, service_selector};
use crate::object::{Container, PodTemplate, get, items, scalar};

pub fn check(inventory: &Inventory<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for service in inventory.of_kind("", "Service") {
        let selector = service_selector(service);
        // The selectors check reports a Service that selects nothing.
        let templates = inventory.selected(&service.namespace, &selector);
        for (i, port) in items(get(&service.value, "spec.ports")).iter().enumerate() {
            // Without a targetPort, the Service's own port is the target.
            let Some(target) = port.get("targetPort").or_else(|| port.get("port")) else {
                continue;
            };
            let Some(target) = scalar(target) else {
                continue;
            };
            let shown = match port.get("name").and_then(Value::as_str) {
                Some(name) => format!("port {name}"),
                None => format!(
                    "port {}",
                    port.get("port").and_then(scalar).unwrap_or_default()
                ),
            };
            for template in &templates {
                if !declares(template, &target) {
                    findings.push(Finding::at(
                        Check::Ports,
                        service,
                        &format!("spec.ports[{i}].targetPort"),
                        format!(
                            "{shown} targets {}, which no container of {} declares (its ports: {})",
                            describe(&target),
                            template.owner,
                            ports_of(template)
                        ),
                    ));
                }
            }
        }
    }
    findings
}

/// Whether a container of the pod has `target`: a number as `containerPort`, a name as a
/// port's `name`.
fn declares(template: &PodTemplate<'_>, target: &str) -> bool {
    let by_number = target.bytes().all(|b| b.is_ascii_digit());
    container_ports(template).any(|(_, port)| {
        let key = if by_number { "containerPort" } else { "name" };
        port.get(key).and_then(scalar).as_deref() == Some(target)
    })
}

fn container_ports<'a>(
    template: &'a PodTemplate<'a>,
) -> impl Iterator<Item = (Container<'a>, &'a Value)> + 'a {
    // Regular containers serve a Service's traffic, and so do native sidecars (init containers
    // with `restartPolicy: Always`, which keep running); other init containers have exited.
    template
        .containers()
        .into_iter()
        .filter(|c| {
            c.path.contains(".containers[")
                || c.value.get("restartPolicy").and_then(Value::as_str) == Some("Always")
        })
        .flat_map(|c| {
            items(c.value.get("ports"))
                .iter()
                .map(move |p| (c.clone(), p))
        })
}

fn describe(target: &str) -> String {
    if target.bytes().all(|b| b.is_ascii_digit()) {
        format!("container port {target}")
    } else {
        format!("the port named {target}")
    }
}

/// `http 9080, admin 15000`, or `none`.
fn ports_of(template: &PodTemplate<'_>) -> String {
    let shown: Vec<String> = container_ports(template)
        .map(|(_, port)| {
            let number = port
                .get("containerPort")
                .and_then(scalar)
                .unwrap_or_default();
            match port.get("name").and_then(Value::as_str) {
                Some(name) => format!("{name} {number}"),
                None => number,
            }
        })
        .collect();
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
}
