//! The hosts a route may name: the services of the mesh's workload registry, which a running
//! (or stopped) stack leaves in `<data-dir>/mesh/registry.json`.

use std::collections::BTreeSet;
use std::path::Path;

/// The services of the mesh's workload registry, qualified as the sidecars qualify them; `None`
/// (and hosts left unchecked, which is said) when no stack has written one.
pub fn known_services(registry: &Path) -> Option<BTreeSet<String>> {
    if !registry.exists() {
        println!(
            "hosts not checked: no workload registry at {} (`sailkit up` writes it)",
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
