//! The CRDs as files: one YAML file per CRD, named after it, and the kustomization that lists
//! them, as committed in `k8s/components/sailkit-mesh/crds/`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Where the files live, from the repository root.
pub const CRDS_DIR: &str = "k8s/components/sailkit-mesh/crds";

/// The command that rewrites them after a model change.
pub const UPDATE_COMMAND: &str = "UPDATE_CRDS=1 cargo test -p mesh-crds --test crds_in_step";

/// The kustomization's own file name.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// Every file of [`CRDS_DIR`] as (file name, content): the CRDs in kind order, then the
/// kustomization.
pub fn files(crds: &[CustomResourceDefinition]) -> Result<Vec<(String, String)>, String> {
    let mut files = Vec::with_capacity(crds.len() + 1);
    for crd in crds {
        files.push((file_name(crd)?, crd_file(crd)?));
    }
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    let kustomization = kustomization(&names);
    files.push((KUSTOMIZATION.to_owned(), kustomization));
    Ok(files)
}

/// `virtualservices.networking.istio.io.yaml`: the CRD's own name.
pub fn file_name(crd: &CustomResourceDefinition) -> Result<String, String> {
    crd.metadata
        .name
        .as_deref()
        .map(|name| format!("{name}.yaml"))
        .ok_or_else(|| format!("the CRD of kind {} has no name", crd.spec.names.kind))
}

fn header() -> String {
    format!(
        "# Generated from mesh-config's model types by mesh/crds: do not edit.\n\
         # After a model change, regenerate with: {UPDATE_COMMAND}\n"
    )
}

/// One CRD as YAML, under the generated-file header, with list items indented under their key
/// as in the rest of `k8s/`.
pub fn crd_file(crd: &CustomResourceDefinition) -> Result<String, String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.compact_list_indent = false;
    let yaml = serde_saphyr::to_string_with_options(crd, options)
        .map_err(|error| format!("{}: {error}", crd.spec.names.kind))?;
    Ok(format!("{}---\n{yaml}", header()))
}

/// The `kind: Kustomization` that lists the CRD files.
pub fn kustomization(resources: &[&str]) -> String {
    let mut text = header();
    text.push_str(
        "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for resource in resources {
        text.push_str(&format!("  - {resource}\n"));
    }
    text
}
