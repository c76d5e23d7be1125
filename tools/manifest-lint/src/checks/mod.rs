//! The checks, one file each. Every check reads the [`Inventory`] and returns its findings;
//! none depends on another, so each can be skipped on its own.

use crate::finding::{Check, Finding};
use crate::images::ImagePolicy;
use crate::inventory::Inventory;

pub mod hostnames;
pub mod images;
pub mod istio;
pub mod pod_security;
pub mod ports;
pub mod references;
pub mod selectors;

/// Runs `check` over the manifests.
pub fn run(check: Check, inventory: &Inventory<'_>, images: &ImagePolicy) -> Vec<Finding> {
    match check {
        Check::Selectors => selectors::check(inventory),
        Check::Ports => ports::check(inventory),
        Check::Hostnames => hostnames::check(inventory),
        Check::Images => images::check(inventory, images),
        Check::References => references::check(inventory),
        Check::Istio => istio::check(inventory),
        Check::PodSecurity => pod_security::check(inventory),
    }
}
