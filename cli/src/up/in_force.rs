//! What routing is in force when the stack starts: the launcher keeps `<data-dir>/mesh/config/`
//! from one run to the next (as a cluster keeps what was applied), so a start says what it found
//! there, and the gateway's "answers 404" note is printed only when nothing lets traffic in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mesh_config::model::{Resource, Spec};

use super::mesh;

/// The resources in the mesh config folder, as the sidecars will load them. A folder that is
/// missing or unreadable counts as empty: the sidecars report its problems themselves.
pub fn resources(data_dir: &Path) -> Vec<Resource> {
    let dir = mesh::config_dir(data_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    mesh_config::load_files(&files).resources
}

/// "4 DestinationRules, 4 VirtualServices": how many of each kind, or `None` for none at all.
pub fn summary(resources: &[Resource]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for resource in resources {
        *counts.entry(resource.kind().as_str()).or_default() += 1;
    }
    if counts.is_empty() {
        return None;
    }
    let parts: Vec<String> = counts
        .into_iter()
        .map(|(kind, count)| {
            let plural = if count == 1 { "" } else { "s" };
            format!("{count} {kind}{plural}")
        })
        .collect();
    Some(parts.join(", "))
}

/// Whether some VirtualService is bound to the Gateway `gateway` (by name, or `namespace/name`).
pub fn binds_gateway(resources: &[Resource], gateway: &str) -> bool {
    resources.iter().any(|resource| match &resource.spec {
        Spec::VirtualService(service) => service
            .gateways
            .iter()
            .any(|bound| bound.rsplit('/').next() == Some(gateway)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir_with(yaml: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = mesh::config_dir(dir.path());
        std::fs::create_dir_all(&config).expect("mkdir");
        std::fs::write(config.join("routing.yaml"), yaml).expect("write");
        dir
    }

    #[test]
    fn an_empty_or_missing_folder_has_nothing_in_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let found = resources(dir.path());
        assert!(summary(&found).is_none());
        assert!(!binds_gateway(&found, "bookinfo-gateway"));
    }

    #[test]
    fn counts_kinds_and_sees_a_virtual_service_bound_to_the_gateway() {
        let dir = data_dir_with(
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: bookinfo-gateway}\n\
             spec: {servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ['*']}]}\n---\n\
             apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bookinfo}\n\
             spec: {hosts: ['*'], gateways: [bookinfo-gateway], http: [{route: [{destination: {host: productpage}}]}]}\n---\n\
             apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\n\
             spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}\n",
        );
        let found = resources(dir.path());
        assert_eq!(
            summary(&found).as_deref(),
            Some("1 Gateway, 2 VirtualServices")
        );
        assert!(binds_gateway(&found, "bookinfo-gateway"));
        assert!(!binds_gateway(&found[2..], "bookinfo-gateway"));
    }
}
