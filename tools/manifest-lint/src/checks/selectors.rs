//! Every Service with a selector selects the pod template of at least one workload in its
//! namespace. A typo in a label (`app: reviewz`) is accepted by the API server and gives a
//! Service with no endpoints: every call to it is refused, and nothing says why.

use crate::finding::{Check, Finding};
use crate::inventory::{Inventory, service_selector};
use crate::object::show_labels;

pub fn check(inventory: &Inventory<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for service in inventory.of_kind("", "Service") {
        let selector = service_selector(service);
        // No selector: the endpoints are managed by hand (or it is an ExternalName).
        if selector.is_empty() || !inventory.selected(&service.namespace, &selector).is_empty() {
            continue;
        }
        findings.push(Finding::at(
            Check::Selectors,
            service,
            "spec.selector",
            format!(
                "selector {} matches no pod template in namespace {}",
                show_labels(&selector),
                service.namespace
            ),
        ));
    }
    findings
}
