//! Who this proxy is, in the words a tracing backend shows: the workload (`reviews-v2`), its
//! canonical service and revision (Istio's `service.istio.io/canonical-name` and `-revision`,
//! which fall back to the `app` and `version` labels, as here), and its namespace.

use crate::Settings;

/// The proxy's workload, worked out once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `--proxy-id`, else `<app>-<version>` from the labels, else the `app` label.
    pub workload: String,
    /// The `app` label, else `--service`, else the workload.
    pub canonical_service: String,
    /// The `version` label, else `latest` (Istio's default).
    pub canonical_revision: String,
    pub namespace: String,
    /// A gateway (`--gateway`) rather than a sidecar.
    pub gateway: bool,
}

impl Identity {
    pub fn of(settings: &Settings) -> Identity {
        let label = |key: &str| {
            settings
                .labels
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let app = label("app");
        let workload = settings
            .proxy_id()
            .ok()
            .or_else(|| app.clone())
            .unwrap_or_else(|| "unknown".to_owned());
        let canonical_service = app
            .or_else(|| settings.service.clone().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| workload.clone());
        Identity {
            workload,
            canonical_service,
            canonical_revision: label("version").unwrap_or_else(|| "latest".to_owned()),
            namespace: settings.namespace.clone(),
            gateway: settings.gateway.is_some(),
        }
    }

    /// The tracing service name, `<canonical service>.<namespace>`, as Istio names a sidecar's
    /// spans (`reviews.default`, `istio-ingressgateway.default`).
    pub fn service_name(&self) -> String {
        format!("{}.{}", self.canonical_service, self.namespace)
    }

    /// Envoy's `node_id` tag in Istio's shape, `<type>~<workload>.<namespace>` (Istio puts the
    /// pod's address and domain in it too; the kit has no pod).
    pub fn node_id(&self) -> String {
        let kind = if self.gateway { "router" } else { "sidecar" };
        format!("{kind}~{}.{}", self.workload, self.namespace)
    }

    /// This workload's service as the mesh names it: `reviews.default.svc.cluster.local`.
    pub fn service_host(&self) -> String {
        format!(
            "{}.{}.svc.cluster.local",
            self.canonical_service, self.namespace
        )
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn identity(args: &[&str]) -> Identity {
        let mut all = vec!["mesh-proxy", "--registry", "r.json"];
        all.extend_from_slice(args);
        Identity::of(&Settings::try_parse_from(all).expect("valid"))
    }

    #[test]
    fn a_sidecar_is_named_by_its_labels() {
        let sidecar = identity(&["--labels", "app=reviews,version=v2", "--namespace", "shop"]);
        assert_eq!(sidecar.workload, "reviews-v2");
        assert_eq!(sidecar.service_name(), "reviews.shop");
        assert_eq!(sidecar.canonical_revision, "v2");
        assert_eq!(sidecar.node_id(), "sidecar~reviews-v2.shop");
        assert_eq!(sidecar.service_host(), "reviews.shop.svc.cluster.local");
    }

    #[test]
    fn a_gateway_and_an_unlabelled_proxy_have_names_too() {
        let gateway = identity(&[
            "--gateway",
            "bookinfo-gateway",
            "--labels",
            "app=istio-ingressgateway",
        ]);
        assert_eq!(gateway.workload, "istio-ingressgateway");
        assert_eq!(gateway.service_name(), "istio-ingressgateway.default");
        assert_eq!(gateway.canonical_revision, "latest");
        assert!(gateway.node_id().starts_with("router~"));
        assert_eq!(identity(&[]).service_name(), "unknown.default");
    }
}
