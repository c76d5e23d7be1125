//! The workloads that run, for the checks that need them: from the control plane of the stack
//! running from the data directory (its `/config_dump` lists every service's endpoints with
//! their labels), or else from the workload registry a stack without one writes.

use std::path::Path;

use mesh_config::host;
use mesh_config::model::DEFAULT_NAMESPACE;
use mesh_config::validate::Workload;

use crate::up::mesh;

/// The workloads, and where they came from; or why there are none to check against.
pub struct Found {
    pub workloads: Vec<Workload>,
    /// `the control plane at http://127.0.0.1:9089`, or the registry file.
    pub source: String,
}

/// The workloads of the stack running from `data_dir`, or why the checks that need them are
/// skipped.
pub fn find(data_dir: &Path) -> Result<Found, String> {
    let stack = crate::up::state::read(&data_dir.join(crate::up::RUN_DIR)).ok();
    if let Some(control) = stack.as_ref().and_then(|s| s.control_plane.as_ref()) {
        let dump = crate::admin_http::get_json(&format!("{}/config_dump", control.admin))
            .map_err(|error| format!("the control plane does not answer ({error})"))?;
        return Ok(Found {
            workloads: from_config_dump(&dump),
            source: format!("the control plane at {}", control.admin),
        });
    }
    let registry = mesh::registry_path(data_dir);
    if !registry.exists() {
        return Err(format!(
            "no stack is running from {} (start one with `sailkit up`, or give --data-dir)",
            data_dir.display()
        ));
    }
    let loaded = mesh_proxy::registry::Registry::load(&registry, DEFAULT_NAMESPACE)?;
    let workloads = loaded
        .services
        .iter()
        .flat_map(|service| {
            service.endpoints.iter().map(|endpoint| Workload {
                name: endpoint.address.to_string(),
                service: service.qualified.clone(),
                labels: endpoint.labels.clone(),
            })
        })
        .collect();
    Ok(Found {
        workloads,
        source: format!("the registry {}", registry.display()),
    })
}

/// `services[].endpoints[]` of the control plane's `/config_dump`, each endpoint a workload
/// named by its proxy id. A field missing or of another type leaves that entry out.
fn from_config_dump(dump: &serde_json::Value) -> Vec<Workload> {
    let services = dump["services"].as_array().map_or(&[][..], Vec::as_slice);
    services
        .iter()
        .filter_map(|service| Some((service["name"].as_str()?, service["endpoints"].as_array()?)))
        .flat_map(|(name, endpoints)| {
            let service = host::qualify(name, DEFAULT_NAMESPACE);
            endpoints.iter().map(move |endpoint| Workload {
                name: endpoint["proxy_id"]
                    .as_str()
                    .or(endpoint["address"].as_str())
                    .unwrap_or("?")
                    .to_owned(),
                service: service.clone(),
                labels: endpoint["labels"]
                    .as_object()
                    .map(|labels| {
                        labels
                            .iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_from_the_control_planes_dump() {
        let dump = serde_json::json!({"services": [
            {"name": "reviews", "endpoints": [
                {"address": "127.0.0.1:1", "proxy_id": "reviews-v2",
                 "labels": {"app": "reviews", "version": "v2"}}]},
            {"name": 7},
        ]});
        let found = from_config_dump(&dump);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "reviews-v2");
        assert_eq!(found[0].service, "reviews.default.svc.cluster.local");
        assert_eq!(found[0].labels["version"], "v2");
    }
}
