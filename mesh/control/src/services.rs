//! The mesh's services: the proxies' registrations and what a discovery source found, as one.
//!
//! Locally every workload registers itself; on Kubernetes the control plane also reads the
//! EndpointSlices (`crate::kubernetes`), and a workload whose proxy registers is then known
//! twice, at the same address. One endpoint per (service, address) is kept, and the
//! registration wins: its proxy is connected (so its sidecar is up), and it carries the proxy id
//! that `proxy-status` shows. A discovered service with no ready endpoint is kept, empty: the
//! host exists, it only has nowhere to send to now.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;

use mesh_api::v1::{Endpoint, Service};

/// `registered` ∪ `discovered`, sorted by service name, each service's endpoints sorted by
/// address (then proxy id), one endpoint per address.
pub fn merge(registered: Vec<Service>, discovered: &[Service]) -> Vec<Service> {
    if discovered.is_empty() {
        return registered;
    }
    let mut by_name: BTreeMap<String, Vec<Endpoint>> = BTreeMap::new();
    for service in registered {
        by_name
            .entry(service.name)
            .or_default()
            .extend(service.endpoints);
    }
    for service in discovered {
        let endpoints = by_name.entry(service.name.clone()).or_default();
        let mut taken: HashSet<String> = endpoints.iter().map(|e| e.address.clone()).collect();
        for endpoint in &service.endpoints {
            if taken.insert(endpoint.address.clone()) {
                endpoints.push(endpoint.clone());
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut endpoints)| {
            endpoints
                .sort_by_cached_key(|e| (e.address.parse::<SocketAddr>().ok(), e.proxy_id.clone()));
            Service { name, endpoints }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, endpoints: &[(&str, &str)]) -> Service {
        Service {
            name: name.to_owned(),
            endpoints: endpoints
                .iter()
                .map(|(address, proxy_id)| Endpoint {
                    address: (*address).to_owned(),
                    labels: Default::default(),
                    proxy_id: (*proxy_id).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_same_address_is_one_endpoint_and_the_registration_wins() {
        let registered = vec![service("reviews", &[("10.0.0.9:9080", "reviews-v2")])];
        let discovered = vec![
            service("details", &[]),
            service(
                "reviews",
                &[
                    ("10.0.0.9:9080", "reviews-v2-abc.default"),
                    ("10.0.0.10:9080", "reviews-v1-xyz.default"),
                ],
            ),
        ];
        let merged = merge(registered, &discovered);
        assert_eq!(merged[0], service("details", &[]));
        assert_eq!(
            merged[1],
            service(
                "reviews",
                &[
                    ("10.0.0.9:9080", "reviews-v2"),
                    ("10.0.0.10:9080", "reviews-v1-xyz.default")
                ]
            ),
            "sorted as addresses, not as text"
        );
    }
}
