//! The parts of `/config_dump` that say what this proxy routes with, in the terms of Envoy's
//! (and `istioctl proxy-config`'s) routes, clusters and endpoints:
//!
//! - `routes`: every rule of the VirtualServices this proxy's listener is bound to (`mesh` for a
//!   sidecar, its Gateway for a gateway), in the order a lookup tries them, with its matches and
//!   destinations;
//! - `clusters`: every place a request can be sent: each service of the registry, and each
//!   subset the DestinationRule for it defines (named `host` or `host|subset`, as the
//!   `circuit_breakers` and `outlier` sections name destinations), with the policy the proxy
//!   applies there (balancing, connection limits, outlier detection, Istio's defaults filled in);
//! - `endpoints`: each endpoint of each cluster, with its labels and whether outlier detection
//!   has ejected it right now.

use std::collections::BTreeMap;

use mesh_config::model::{ConnectionPoolSettings, LoadBalancerSettings, OutlierDetection};
use mesh_config::{ResolvedPolicy, RouteTable};
use serde_json::{Value, json};

use crate::Proxy;
use crate::registry::{Endpoint, Service};
use crate::stage::circuit_breaker::{Destination, Limits};
use crate::stage::outlier;
use crate::state::Snapshot;

/// `routes`, `clusters` and `endpoints`, to add to `/config_dump`.
pub fn sections(proxy: &Proxy, snapshot: &Snapshot) -> [(&'static str, Value); 3] {
    let table = snapshot.routes.as_ref().map(|r| &r.table);
    let clusters = clusters(proxy, snapshot, table);
    let endpoints = endpoints(&clusters);
    let clusters_json = clusters.iter().map(|c| c.to_json()).collect();
    [
        ("routes", routes(proxy, table)),
        ("clusters", Value::Array(clusters_json)),
        ("endpoints", Value::Array(endpoints)),
    ]
}

/// The listener's name: `outbound` for a sidecar, `http.<port>` for a gateway, as Istio names a
/// gateway's route configuration.
fn listener(proxy: &Proxy) -> String {
    match (&proxy.settings.gateway, proxy.settings.gateway_port) {
        (Some(_), Some(port)) => format!("http.{port}"),
        (Some(_), None) => "http".to_owned(),
        (None, _) => "outbound".to_owned(),
    }
}

fn routes(proxy: &Proxy, table: Option<&RouteTable>) -> Value {
    let Some(table) = table else {
        return json!([]);
    };
    let listener = listener(proxy);
    let rules = table
        .bound_to(proxy.settings.gateway.as_deref())
        .flat_map(|vs| {
            vs.rules.iter().map(|rule| {
                json!({
                    "listener": listener,
                    "virtual_service": format!("{}/{}", vs.namespace, vs.name),
                    "domains": vs.hosts,
                    "rule": rule.index,
                    "name": rule.name,
                    // An empty list matches every request.
                    "match": rule.matches.iter().map(|m| &m.description).collect::<Vec<_>>(),
                    "destinations": rule.destinations.iter().map(|d| json!({
                        "host": d.host, "subset": d.subset, "port": d.port, "weight": d.weight,
                    })).collect::<Vec<_>>(),
                    "redirect": rule.redirect.is_some(),
                })
            })
        })
        .collect();
    Value::Array(rules)
}

/// One cluster: a service, or one subset of it.
struct Cluster<'r> {
    destination: Destination,
    service: &'r Service,
    selector: Option<&'r BTreeMap<String, String>>,
    destination_rule: Option<&'r str>,
    policy: ResolvedPolicy,
    ejected: Vec<std::net::SocketAddr>,
}

impl Cluster<'_> {
    fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.service
            .endpoints
            .iter()
            .filter(|e| self.selector.is_none_or(|s| e.has_labels(s)))
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.destination.to_string(),
            "service": self.destination.host,
            "subset": self.destination.subset,
            "labels": self.selector,
            "direction": "outbound",
            // The endpoints come from the registry (or the control plane's snapshot), as EDS.
            "type": "EDS",
            "destination_rule": self.destination_rule,
            "endpoints": self.endpoints().count(),
            "policy": {
                "load_balancer": load_balancer(self.policy.load_balancer.as_ref()),
                "connection_pool": self.policy.connection_pool.as_ref().map(connection_pool),
                "outlier_detection": self.policy.outlier_detection.as_ref().map(outlier_detection),
            },
        })
    }
}

fn clusters<'r>(
    proxy: &Proxy,
    snapshot: &'r Snapshot,
    table: Option<&'r RouteTable>,
) -> Vec<Cluster<'r>> {
    let Some(registry) = &snapshot.registry else {
        return Vec::new();
    };
    let ejected: Vec<(Destination, Vec<std::net::SocketAddr>)> = proxy.detectors.ejected();
    let ejected_from = |destination: &Destination| {
        ejected
            .iter()
            .find(|(d, _)| d == destination)
            .map(|(_, e)| e.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for service in &registry.services {
        let host = &service.qualified;
        let rule = table.and_then(|t| t.destination_rule_for(host));
        let subsets = rule.map_or(&[][..], |(_, subsets)| subsets);
        let whole = std::iter::once((None, None));
        let each = subsets
            .iter()
            .map(|s| (Some(s.name.clone()), Some(&s.labels)));
        for (subset, selector) in whole.chain(each) {
            let destination = Destination {
                host: host.clone(),
                subset,
            };
            let policy = table
                .map(|t| t.destination_policy(host, destination.subset.as_deref(), None))
                .unwrap_or_default();
            out.push(Cluster {
                ejected: ejected_from(&destination),
                destination,
                service,
                selector,
                destination_rule: rule.map(|(id, _)| id),
                policy,
            });
        }
    }
    out
}

fn endpoints(clusters: &[Cluster<'_>]) -> Vec<Value> {
    clusters
        .iter()
        .flat_map(|cluster| {
            cluster.endpoints().map(move |endpoint| {
                let ejected = cluster.ejected.contains(&endpoint.address);
                json!({
                    "address": endpoint.address.to_string(),
                    "labels": endpoint.labels,
                    "cluster": cluster.destination.to_string(),
                    // Listed by the registry: healthy, as far as the proxy knows.
                    "status": "HEALTHY",
                    "outlier_check": if ejected { "FAILED" } else { "OK" },
                })
            })
        })
        .collect()
}

/// How the proxy picks an endpoint: `ROUND_ROBIN` (the default), `RANDOM`, `LEAST_REQUEST`,
/// or `CONSISTENT_HASH` with its key.
fn load_balancer(lb: Option<&LoadBalancerSettings>) -> Value {
    if let Some(hash) = lb.and_then(|lb| lb.consistent_hash.as_ref()) {
        let key = if let Some(header) = &hash.http_header_name {
            format!("header {header}")
        } else if let Some(cookie) = &hash.http_cookie {
            format!("cookie {}", cookie.name)
        } else {
            "source ip".to_owned()
        };
        return json!({"type": "CONSISTENT_HASH", "key": key});
    }
    let simple = match lb.and_then(|lb| lb.simple) {
        Some(mesh_config::model::SimpleLb::Random) => "RANDOM",
        Some(
            mesh_config::model::SimpleLb::LeastRequest | mesh_config::model::SimpleLb::LeastConn,
        ) => "LEAST_REQUEST",
        _ => "ROUND_ROBIN",
    };
    json!({"type": simple})
}

/// The limits the circuit breaker enforces (`null`: unlimited).
fn connection_pool(pool: &ConnectionPoolSettings) -> Value {
    limits(&Limits::from_config(pool))
}

/// A destination's connection limits, as `/config_dump` shows them (`null`: unlimited).
pub(crate) fn limits(l: &Limits) -> Value {
    json!({
        "max_connections": l.max_connections,
        "max_pending_requests": l.max_pending,
        "max_requests": l.max_requests,
        "max_requests_per_connection": l.max_requests_per_connection,
        "max_retries": l.max_retries,
        "connect_timeout_ms": l.connect_timeout.map(|d| d.as_millis() as u64),
    })
}

/// The outlier detection in force, with Istio's defaults for what is not set.
fn outlier_detection(od: &OutlierDetection) -> Value {
    let c = outlier::Config::from_config(od);
    json!({
        "consecutive_5xx_errors": c.consecutive_5xx,
        "consecutive_gateway_errors": c.consecutive_gateway,
        "interval_ms": c.interval.as_millis() as u64,
        "base_ejection_time_ms": c.base_ejection.as_millis() as u64,
        "max_ejection_percent": c.max_ejection_percent,
        "min_health_percent": c.min_health_percent,
    })
}
