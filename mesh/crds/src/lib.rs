//! `mesh-crds`: CustomResourceDefinitions for the Istio kinds sailkit's mesh supports.
//!
//! On a cluster where sailkit's control plane is the only mesh (the `sailkit-mesh` kustomize
//! component), nothing else installs the `networking.istio.io` kinds, so we ship their CRDs.
//! They are generated from mesh-config's model types, the ones the loader reads, so the schema a
//! cluster checks at `kubectl apply` and the checks of our loader cannot drift apart.
//!
//! - `kinds`: the four kinds as kube custom resources (`#[derive(CustomResource)]`).
//! - `checked`: [`Checked`], a spec with its model and the document as written.
//! - `render`: the CRDs as the YAML files of `k8s/components/sailkit-mesh/crds/`.
//! - `structural`: the rules that make Kubernetes accept a schema, as a check.
//! - `validate`: an object checked against a CRD's schema, field by field, as a cluster would.

mod checked;
mod kinds;
pub mod render;
pub mod structural;
pub mod validate;

pub use checked::Checked;
pub use kinds::{
    DestinationRule, DestinationRuleSpec, Gateway, GatewaySpec, ServiceEntry, ServiceEntrySpec,
    VirtualService, VirtualServiceSpec,
};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;
use mesh_config::model::API_VERSIONS;

/// The version every object is stored as; the others are served from the same schema (they do
/// not differ in the fields sailkit models, so the API server converts by renaming alone).
pub const STORAGE_VERSION: &str = "v1";

/// The four CRDs, in kind order: VirtualService, DestinationRule, Gateway, ServiceEntry.
pub fn crds() -> Vec<CustomResourceDefinition> {
    [
        VirtualService::crd(),
        DestinationRule::crd(),
        Gateway::crd(),
        ServiceEntry::crd(),
    ]
    .into_iter()
    .map(with_every_version)
    .collect()
}

/// Serve the derived `v1` schema under every version of [`API_VERSIONS`] (`v1`, `v1beta1`,
/// `v1alpha3`), storing `v1`, without the schema's defaults (see [`without_defaults`]).
fn with_every_version(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut derived = crd.spec.versions.remove(0);
    if let Some(schema) = derived
        .schema
        .as_mut()
        .and_then(|validation| validation.open_api_v3_schema.as_mut())
    {
        without_defaults(schema);
    }
    crd.spec.versions = API_VERSIONS
        .iter()
        .map(|version| {
            let mut served = derived.clone();
            served.name = (*version).to_owned();
            served.served = true;
            served.storage = *version == STORAGE_VERSION;
            served
        })
        .collect();
    crd
}

/// Remove every `default` from a schema. schemars writes one for each `#[serde(default)]`
/// field (`gateways: []`), which is how *our reader* fills a missing field; in a CRD the API
/// server would write it into every stored object, which would then differ from what was applied.
fn without_defaults(schema: &mut JSONSchemaProps) {
    schema.default = None;
    for property in schema
        .properties
        .iter_mut()
        .flat_map(|map| map.values_mut())
    {
        without_defaults(property);
    }
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(items)) => without_defaults(items),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(without_defaults),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(additional)) = schema.additional_properties.as_mut() {
        without_defaults(additional);
    }
}
