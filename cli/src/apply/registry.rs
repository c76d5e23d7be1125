//! The hosts a route may name, for a change made on the folder itself: the services of the
//! mesh's workloads, from the registry a stack without a control plane leaves in
//! `<data-dir>/mesh/registry.json`. (Through a control plane, it checks hosts itself, against
//! the workloads registered with it.)

use std::collections::BTreeSet;
use std::path::Path;

/// The services of `registry`, qualified as the sidecars qualify them; `None` (and hosts left
/// unchecked, which is said) when there is none.
pub fn known_services(registry: &Path) -> Option<BTreeSet<String>> {
    if !registry.exists() {
        println!(
            "hosts not checked: no running control plane, and no workload registry at {}",
            registry.display()
        );
        return None;
    }
    match mesh_proxy::registry::Registry::load(registry, mesh_config::model::DEFAULT_NAMESPACE) {
        Ok(loaded) => Some(
            loaded
                .services
                .iter()
                .map(|s| s.qualified.clone())
                .collect(),
        ),
        Err(message) => {
            println!("hosts not checked: {message}");
            None
        }
    }
}
