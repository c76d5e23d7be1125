//! Services, EndpointSlices and Pods → the mesh's services and their endpoints.
//!
//! A Service's endpoints are in its EndpointSlices (those labelled
//! `kubernetes.io/service-name: <service>` in its namespace). For each ready endpoint
//! (`conditions.ready` true or unset, as the API says to read it), every address gives one
//! endpoint `IP:PORT`, where PORT is the slice's port for the Service's port named `http`, or
//! for its first port. The endpoint's labels are its Pod's (found through `targetRef`), so that
//! DestinationRule subsets select on them (`version: v2`) as they select on a registered
//! proxy's. Its proxy id, shown in dumps, is `<pod>.<namespace>` as Istio names a pod's proxy.
//!
//! Services are named by their short name: the snapshot has no namespaces yet, so the same name
//! in two watched namespaces is one service (watch one namespace, `--watch-namespace`).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service as KubeService};
use k8s_openapi::api::discovery::v1::{Endpoint as SliceEndpoint, EndpointSlice};
use mesh_api::v1::{Endpoint, Service};

/// The label that ties an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The mesh's services made of `services`, their `slices` and the `pods` (whose labels are
/// read), sorted by name, endpoints sorted by address.
pub fn services(
    services: &[Arc<KubeService>],
    slices: &[Arc<EndpointSlice>],
    pods: &[Arc<Pod>],
) -> Vec<Service> {
    let labels_of: HashMap<(&str, &str), &BTreeMap<String, String>> = pods
        .iter()
        .filter_map(|pod| {
            let meta = &pod.metadata;
            Some((
                (meta.namespace.as_deref()?, meta.name.as_deref()?),
                meta.labels.as_ref()?,
            ))
        })
        .collect();
    let mut slices_of: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for slice in slices {
        let meta = &slice.metadata;
        let owner = meta
            .labels
            .as_ref()
            .and_then(|labels| labels.get(SERVICE_NAME_LABEL));
        if let (Some(namespace), Some(owner)) = (meta.namespace.as_deref(), owner) {
            slices_of.entry((namespace, owner)).or_default().push(slice);
        }
    }

    let mut by_name: BTreeMap<String, Vec<(SocketAddr, Endpoint)>> = BTreeMap::new();
    for service in services {
        let (Some(namespace), Some(name)) = (
            service.metadata.namespace.as_deref(),
            service.metadata.name.as_deref(),
        ) else {
            continue;
        };
        let endpoints = by_name.entry(name.to_owned()).or_default();
        let Some(port_name) = mesh_port_name(service) else {
            continue;
        };
        for slice in slices_of.get(&(namespace, name)).into_iter().flatten() {
            let Some(port) = slice_port(slice, &port_name) else {
                continue;
            };
            for endpoint in slice.endpoints.iter().filter(|e| is_ready(e)) {
                let pod = pod_of(endpoint, namespace);
                let labels: HashMap<String, String> = pod
                    .and_then(|pod| labels_of.get(&pod))
                    .map(|labels| (*labels).clone().into_iter().collect())
                    .unwrap_or_default();
                let proxy_id = match pod {
                    Some((namespace, pod)) => format!("{pod}.{namespace}"),
                    None => format!(
                        "{}.{namespace}",
                        slice.metadata.name.as_deref().unwrap_or_default()
                    ),
                };
                for ip in endpoint
                    .addresses
                    .iter()
                    .filter_map(|a| a.parse::<IpAddr>().ok())
                {
                    let address = SocketAddr::new(ip, port);
                    let endpoint = Endpoint {
                        address: address.to_string(),
                        labels: labels.clone(),
                        proxy_id: proxy_id.clone(),
                    };
                    endpoints.push((address, endpoint));
                }
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut endpoints)| {
            endpoints.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.proxy_id.cmp(&y.proxy_id)));
            endpoints.dedup_by(|(a, _), (b, _)| a == b);
            Service {
                name,
                endpoints: endpoints.into_iter().map(|(_, e)| e).collect(),
            }
        })
        .collect()
}

/// The name of the Service port the mesh sends to: the one named `http`, or the first
/// (`""` when unnamed, as a Service with one port may be). `None` without ports.
fn mesh_port_name(service: &KubeService) -> Option<String> {
    let ports = service.spec.as_ref()?.ports.as_ref()?;
    let port = ports
        .iter()
        .find(|p| p.name.as_deref() == Some("http"))
        .or_else(|| ports.first())?;
    Some(port.name.clone().unwrap_or_default())
}

/// The slice's port number for the Service port named `name`, if the slice has it.
fn slice_port(slice: &EndpointSlice, name: &str) -> Option<u16> {
    slice
        .ports
        .as_ref()?
        .iter()
        .find(|p| p.name.as_deref().unwrap_or_default() == name)
        .and_then(|p| u16::try_from(p.port?).ok())
}

/// Ready, or unknown (which the API says to take as ready).
fn is_ready(endpoint: &SliceEndpoint) -> bool {
    endpoint
        .conditions
        .as_ref()
        .and_then(|c| c.ready)
        .unwrap_or(true)
}

/// The (namespace, name) of the Pod behind `endpoint`, if it names one.
fn pod_of<'a>(endpoint: &'a SliceEndpoint, namespace: &'a str) -> Option<(&'a str, &'a str)> {
    let target = endpoint.target_ref.as_ref()?;
    if target.kind.as_deref() != Some("Pod") {
        return None;
    }
    Some((
        target.namespace.as_deref().unwrap_or(namespace),
        target.name.as_deref()?,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse<T: k8s_openapi::serde::de::DeserializeOwned>(value: Value) -> Arc<T> {
        Arc::new(serde_json::from_value(value).expect("a Kubernetes object"))
    }

    fn service(name: &str, ports: Value) -> Arc<KubeService> {
        parse(json!({"metadata": {"name": name, "namespace": "ns"}, "spec": {"ports": ports}}))
    }

    fn slice(
        service: &str,
        address_type: &str,
        ports: Value,
        addresses: &[&str],
    ) -> Arc<EndpointSlice> {
        parse(json!({
            "metadata": {"name": format!("{service}-x"), "namespace": "ns",
                         "labels": {SERVICE_NAME_LABEL: service}},
            "addressType": address_type, "ports": ports,
            "endpoints": [{"addresses": addresses}],
        }))
    }

    fn addresses(services: &[Service], name: &str) -> Vec<String> {
        services
            .iter()
            .filter(|s| s.name == name)
            .flat_map(|s| s.endpoints.iter().map(|e| e.address.clone()))
            .collect()
    }

    #[test]
    fn the_first_port_without_http_an_unnamed_port_and_ipv6_in_brackets() {
        let services = [
            service(
                "grpc-only",
                json!([{"name": "grpc", "port": 5000}, {"name": "admin", "port": 1}]),
            ),
            service("unnamed", json!([{"port": 80}])),
            service("no-ports", json!([])),
        ];
        let slices = [
            slice(
                "grpc-only",
                "IPv4",
                json!([{"name": "admin", "port": 2}, {"name": "grpc", "port": 5001}]),
                &["10.0.0.1"],
            ),
            slice("unnamed", "IPv6", json!([{"port": 8080}]), &["fd00::1"]),
            // Not an IP: a slice of FQDNs is skipped, address by address.
            slice("unnamed", "FQDN", json!([{"port": 8080}]), &["example.com"]),
            slice("no-ports", "IPv4", json!([{"port": 1}]), &["10.0.0.9"]),
            // A slice of a Service that is not there.
            slice("gone", "IPv4", json!([{"port": 1}]), &["10.0.0.8"]),
        ];
        let built = super::services(&services, &slices, &[]);
        let names: Vec<&str> = built.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["grpc-only", "no-ports", "unnamed"]);
        assert_eq!(addresses(&built, "grpc-only"), ["10.0.0.1:5001"]);
        assert_eq!(addresses(&built, "unnamed"), ["[fd00::1]:8080"]);
        assert!(addresses(&built, "no-ports").is_empty());
        assert_eq!(
            built[0].endpoints[0].proxy_id, "grpc-only-x.ns",
            "no pod: the slice's name"
        );
    }
}
