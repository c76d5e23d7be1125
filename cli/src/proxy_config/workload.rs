//! Which admin port a proxy id stands for, from the running stack's `stack.json`: a sidecar is
//! named after its instance (`reviews-v2`), the ingress gateway after itself
//! (`istio-ingressgateway`), as they register with the control plane.

use std::path::Path;

use crate::up::state::Stack;

/// The admin URL of the proxy `workload` of the stack running from `data_dir`; the error names
/// the proxies there are.
pub fn admin_address(data_dir: &Path, workload: &str) -> Result<String, String> {
    let stack = crate::up::state::read(&data_dir.join(crate::up::RUN_DIR)).map_err(|error| {
        format!(
            "no running stack found in {} ({error}); start one with `sailkit up`, or give \
             --data-dir",
            data_dir.display()
        )
    })?;
    let proxies = proxies(&stack);
    if proxies.is_empty() {
        return Err("the running stack has no proxies (it was started with --no-mesh)".into());
    }
    proxies
        .iter()
        .find(|(name, _)| name == workload)
        .map(|(_, admin)| admin.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = proxies.iter().map(|(name, _)| name.as_str()).collect();
            format!(
                "no proxy {workload:?} in the running stack; its proxies are: {}",
                names.join(", ")
            )
        })
}

/// Every proxy of the stack: its id and admin URL.
fn proxies(stack: &Stack) -> Vec<(String, String)> {
    let sidecars = stack.instances.iter().filter_map(|instance| {
        let sidecar = instance.sidecar.as_ref()?;
        Some((instance.name.clone(), sidecar.admin.clone()))
    });
    let gateway = stack
        .gateway
        .iter()
        .map(|gateway| (gateway.name.clone(), gateway.admin.clone()));
    sidecars.chain(gateway).collect()
}
