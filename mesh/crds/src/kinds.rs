//! The four `networking.istio.io` kinds as kube custom resources, each spec wrapping the
//! mesh-config model type of its kind.
//!
//! The derive writes the root types (`VirtualService`, ...: apiVersion, kind, metadata, spec)
//! and their `CustomResourceDefinition` for version `v1`, the one the control plane watches;
//! [`crate::crds`] adds the other versions Istio serves with the same schema.

use kube::CustomResource;
use mesh_config::model;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checked::Checked;

/// Each kind: its spec type wrapping the model type, and what differs between kinds (the kind,
/// Istio's short name, the CRD's description). Every kind is namespaced, in Istio's categories.
macro_rules! istio_kinds {
    ($($(#[$doc:meta])* $spec:ident($model:ty) = $kind:tt, $shortname:tt, $description:tt;)*) => {$(
        $(#[$doc])*
        #[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[kube(
            group = "networking.istio.io",
            version = "v1",
            kind = $kind,
            namespaced,
            shortname = $shortname,
            category = "istio-io",
            category = "networking-istio-io",
            label("app.kubernetes.io/part-of", "sailkit"),
            derive = "PartialEq",
            doc = $description
        )]
        #[serde(transparent)]
        pub struct $spec(pub Checked<$model>);
    )*};
}

istio_kinds! {
    /// `spec` of a VirtualService: how requests to a host are routed.
    VirtualServiceSpec(model::VirtualService) = "VirtualService", "vs",
        "Istio's VirtualService, as far as sailkit's mesh reads it.";
    /// `spec` of a DestinationRule: subsets and the traffic policy towards a host.
    DestinationRuleSpec(model::DestinationRule) = "DestinationRule", "dr",
        "Istio's DestinationRule, as far as sailkit's mesh reads it.";
    /// `spec` of a Gateway: the ports and hosts an ingress proxy listens for.
    GatewaySpec(model::Gateway) = "Gateway", "gw",
        "Istio's Gateway, as far as sailkit's mesh reads it.";
    /// `spec` of a ServiceEntry: a host outside the registry.
    ServiceEntrySpec(model::ServiceEntry) = "ServiceEntry", "se",
        "Istio's ServiceEntry, as far as sailkit's mesh reads it.";
}
