//! The routing in force for a workload: the VirtualServices and DestinationRules the control
//! plane (`mesh/control`) holds for the workload's service, asked over its Config API
//! (`List`, the call behind `sailkit apply --list`).
//!
//! The control plane answers with every resource in force, each with the hosts it is about,
//! already qualified as the proxies read them (`reviews` in `default` is
//! `reviews.default.svc.cluster.local`), and its YAML. A resource applies to a workload when one
//! of those hosts is its service's qualified name, so `reviews`, `reviews.default` and the full
//! name in a file all find the page of `reviews-v2`.

use std::time::Duration;

use mesh_api::v1::ListRequest;
use mesh_api::v1::config_client::ConfigClient;
use mesh_config::Kind;
use tonic::transport::Channel;

/// How long the page waits for the control plane.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One resource in force for the workload's service.
#[derive(Debug, Clone, PartialEq)]
pub struct InForce {
    /// `VirtualService` or `DestinationRule`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The file of the control plane's folder it comes from.
    pub file: String,
    pub yaml: String,
}

/// The app a workload is a version of: Bookinfo's workloads are `<app>-<version>`
/// (`reviews-v2`); a name without a `-v<N>` ending is its own app.
pub fn app_of(workload: &str) -> &str {
    match workload.rsplit_once("-v") {
        Some((app, n))
            if !app.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            app
        }
        _ => workload,
    }
}

/// The VirtualServices and DestinationRules for `app` in `namespace` that the control plane at
/// `url` has in force, in the order the proxies load them. An error names the control plane.
pub async fn in_force(url: &str, app: &str, namespace: &str) -> Result<Vec<InForce>, String> {
    let unreachable = |error: &dyn std::fmt::Display| {
        format!("cannot read the routing in force from the control plane at {url}: {error}")
    };
    let endpoint = Channel::from_shared(url.to_owned())
        .map_err(|error| unreachable(&error))?
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT);
    // Names resolve in Rust, as for every sailkit client (`compose` names the control plane).
    let connector = netresolve::http_connector(netresolve::Resolver::system());
    let channel = endpoint
        .connect_with_connector(connector)
        .await
        .map_err(|error| unreachable(&error))?;
    let listed = ConfigClient::new(channel)
        .list(ListRequest {})
        .await
        .map_err(|status| unreachable(&status.message()))?
        .into_inner();
    let host = mesh_config::host::qualify(app, namespace);
    Ok(listed
        .resources
        .into_iter()
        .filter(|resource| {
            matches!(
                Kind::from_name(&resource.kind),
                Some(Kind::VirtualService | Kind::DestinationRule)
            ) && resource.hosts.contains(&host)
        })
        .map(|resource| InForce {
            kind: resource.kind,
            namespace: resource.namespace,
            name: resource.name,
            file: resource.file,
            yaml: resource.yaml,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_is_its_app_without_the_version() {
        assert_eq!(app_of("reviews-v2"), "reviews");
        assert_eq!(app_of("productpage-v1"), "productpage");
        assert_eq!(app_of("istio-ingressgateway"), "istio-ingressgateway");
        assert_eq!(app_of("ratings"), "ratings");
        assert_eq!(app_of("my-svc-vx"), "my-svc-vx");
    }
}
