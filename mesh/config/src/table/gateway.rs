//! What a gateway lets in: the hosts its Gateway resource's servers list, per port, and how a
//! gateway's name is qualified.

use super::{CompiledVirtualService, RouteTable};
use crate::host;

/// One host of one server of a Gateway: `(gateway id, server port, qualified host pattern)`.
#[derive(Debug, Clone)]
pub(super) struct GatewayHost {
    /// `namespace/name` of the Gateway.
    pub(super) gateway: String,
    pub(super) port: u16,
    /// The host, qualified as VirtualService hosts are. A Gateway host may carry a namespace
    /// part (`./bookinfo.example.com`, `prod/*`), which only says where the VirtualServices
    /// bound to it may live; the host is what follows `/`.
    pub(super) pattern: String,
}

/// A gateway as `namespace/name`: a bare name is in `namespace`; `mesh` (the sidecars) stays.
pub(super) fn qualify_gateway(gateway: &str, namespace: &str) -> String {
    if gateway == "mesh" || gateway.contains('/') {
        gateway.to_owned()
    } else {
        format!("{namespace}/{gateway}")
    }
}

impl RouteTable {
    /// The VirtualServices a proxy routes with, in the order it tries them: those bound to the
    /// gateway `gateway` (a name, qualified in the table's namespace, or `namespace/name`), or
    /// with `None` those of the sidecars (`mesh`).
    pub fn bound_to(&self, gateway: Option<&str>) -> impl Iterator<Item = &CompiledVirtualService> {
        let gateway = gateway.map_or_else(
            || "mesh".to_owned(),
            |g| qualify_gateway(g, &self.namespace),
        );
        self.virtual_services
            .iter()
            .filter(move |vs| vs.gateways.contains(&gateway))
    }

    /// True when the Gateway resource `gateway` (`namespace/name`) exists and one of its servers
    /// on `port` (the gateway's port) lists the request host (any of `candidates`) in `hosts`.
    pub(super) fn gateway_admits(&self, gateway: &str, port: u16, candidates: &[String]) -> bool {
        self.gateway_hosts
            .iter()
            .filter(|h| h.port == port && h.gateway == gateway)
            .any(|h| {
                candidates
                    .iter()
                    .any(|c| host::match_score(&h.pattern, c).is_some())
            })
    }
}
