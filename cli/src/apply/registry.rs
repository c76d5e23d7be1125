//! The hosts a route may name: the services of the mesh's workloads, from the running stack's
//! control plane (its `/config_dump`), or else from the registry a stack without one leaves in
//! `<data-dir>/mesh/registry.json`.

use std::collections::BTreeSet;
use std::path::Path;

/// The services of the mesh's workloads, qualified as the sidecars qualify them: those the
/// control plane of the stack running from `data_dir` knows, else those of `registry`; `None`
/// (and hosts left unchecked, which is said) when neither is there.
pub fn known_services(data_dir: &Path, registry: &Path) -> Option<BTreeSet<String>> {
    if let Some(services) = from_control_plane(data_dir) {
        return Some(services);
    }
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

/// The services in the control plane's `/config_dump`, when a stack with one runs from
/// `data_dir`; `None` otherwise, or when it does not answer.
fn from_control_plane(data_dir: &Path) -> Option<BTreeSet<String>> {
    let stack = crate::up::state::read(&data_dir.join(crate::up::RUN_DIR)).ok()?;
    let admin = stack.control_plane?.admin;
    let dump = get_json(&format!("{admin}/config_dump"))?;
    let names = dump["services"]
        .as_array()?
        .iter()
        .filter_map(|s| s["name"].as_str());
    Some(
        names
            .map(|name| mesh_config::host::qualify(name, mesh_config::model::DEFAULT_NAMESPACE))
            .collect(),
    )
}

/// GET `url` as JSON, within two seconds; `None` on any failure.
fn get_json(url: &str) -> Option<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .ok()?;
        client.get(url).send().await.ok()?.json().await.ok()
    })
}
