//! Every peer a container is told to call is a Service of the manifests: the value of an env
//! var (written in the container, or read from a ConfigMap by `envFrom` or `configMapKeyRef`)
//! named `*_HOSTNAME` (Bookinfo's `REVIEWS_HOSTNAME=reviews`, with `SERVICES_DOMAIN`
//! appended when the container sets it, as productpage does), and the host of every URL in an
//! env value or an argument (`postgres://ratings@postgres:5432/ratings`,
//! `--control-plane=http://sailkit-control:15010`). A wrong name is accepted everywhere and
//! fails only when the first call cannot resolve it. A port written with the peer (`postgres:5432`,
//! or `RATINGS_SERVICE_PORT` beside `RATINGS_HOSTNAME`) must be a port of its Service.
//!
//! A name is looked up the way a pod's DNS search path completes it: `reviews` in the pod's
//! namespace, `reviews.bookinfo` and `reviews.bookinfo.svc[.cluster.local]` as written. Names
//! that are not the cluster's (`localhost`, an IP address, `api.example.com`, a ServiceEntry
//! host) are left alone; a one-dot name counts as the cluster's only when its second label is a
//! namespace of the manifests.

use std::net::IpAddr;

use mesh_config::host;
use serde_json::Value;

use crate::finding::{Check, Finding};
use crate::inventory::Inventory;
use crate::object::{Container, Object, get, items};

const CLUSTER_SUFFIX: &str = ".svc.cluster.local";

/// URL schemes whose "host" is a path on the container's own disk (`sqlite://data/x.db`).
const LOCAL_SCHEMES: &[&str] = &["sqlite", "file", "unix"];

pub fn check(inventory: &Inventory<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for template in &inventory.templates {
        let namespace = &template.owner.namespace;
        for container in template.containers() {
            for peer in peers(inventory, namespace, &container) {
                let Some(message) = problem(inventory, namespace, &peer) else {
                    continue;
                };
                let message = format!("container {}: {} {message}", container.name, peer.what);
                findings.push(Finding::at(
                    Check::Hostnames,
                    template.owner,
                    &peer.path,
                    message,
                ));
            }
        }
    }
    findings
}

/// A peer a container is told to call.
struct Peer {
    /// The field of the workload that names it.
    path: String,
    /// `env REVIEWS_HOSTNAME`, `the URL in env DATABASE_URL`, `a URL in args[0]`.
    what: String,
    host: String,
    /// The port it is called on, when one is written (`:5432`, `REVIEWS_SERVICE_PORT`).
    port: Option<u16>,
}

/// What is wrong with a peer: a host that is no Service, or a port its Service does not have.
fn problem(inventory: &Inventory<'_>, namespace: &str, peer: &Peer) -> Option<String> {
    let service = match resolve(inventory, &peer.host, namespace) {
        Resolved::Elsewhere => return None,
        Resolved::Missing(looked_for) => {
            return Some(format!(
                "names host {}, which is no Service of the manifests (looked for {looked_for})",
                peer.host
            ));
        }
        Resolved::Service(service) => service,
    };
    let port = peer.port?;
    let ports: Vec<u16> = items(get(&service.value, "spec.ports"))
        .iter()
        .filter_map(|p| p.get("port").and_then(Value::as_u64))
        .filter_map(|p| u16::try_from(p).ok())
        .collect();
    if ports.is_empty() || ports.contains(&port) {
        return None;
    }
    let shown: Vec<String> = ports.iter().map(u16::to_string).collect();
    let word = if ports.len() == 1 { "port" } else { "ports" };
    Some(format!(
        "names port {port} of {service}, which has {word} {}",
        shown.join(", ")
    ))
}

/// One variable of a container's environment, and where its value comes from.
struct EnvVar<'a> {
    name: String,
    value: &'a str,
    /// The field of the workload that sets it (`env[2].value`, `envFrom[0]`).
    path: String,
    /// `env NAME`, or `env NAME (from ConfigMap bookinfo/config, line 140)`.
    shown: String,
}

/// The variables a container gets from `env` values and from ConfigMaps (`envFrom` with its
/// `prefix`, `valueFrom.configMapKeyRef`), in the order Kubernetes applies them (`env` last,
/// so it wins). Secrets are left out: a peer's name is not a secret, and their values are
/// encoded.
fn environment<'a>(
    inventory: &Inventory<'a>,
    namespace: &str,
    container: &Container<'a>,
) -> Vec<EnvVar<'a>> {
    let config_map = |name: Option<&Value>| {
        inventory.find("ConfigMap", namespace, name.and_then(Value::as_str)?)
    };
    let from_map = |map: &Object, key: &str| {
        let line = map.line(&format!("data.{key}"));
        format!("(from {map}, line {line})")
    };
    let mut vars = Vec::new();
    for (i, from) in items(container.value.get("envFrom")).iter().enumerate() {
        let Some(map) = config_map(get(from, "configMapRef.name")) else {
            continue;
        };
        let prefix = from
            .get("prefix")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for (key, value) in map
            .value
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let Some(value) = value.as_str() else {
                continue;
            };
            vars.push(EnvVar {
                name: format!("{prefix}{key}"),
                value,
                path: container.path(&format!("envFrom[{i}]")),
                shown: format!("env {prefix}{key} {}", from_map(map, key)),
            });
        }
    }
    for (i, var) in items(container.value.get("env")).iter().enumerate() {
        let Some(name) = var.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(value) = var.get("value").and_then(Value::as_str) {
            vars.push(EnvVar {
                name: name.to_owned(),
                value,
                path: container.path(&format!("env[{i}].value")),
                shown: format!("env {name}"),
            });
        } else if let Some(reference) = get(var, "valueFrom.configMapKeyRef")
            && let Some(map) = config_map(reference.get("name"))
            && let Some(key) = reference.get("key").and_then(Value::as_str)
            && let Some(value) = get(&map.value, "data").and_then(|d| d.get(key))
            && let Some(value) = value.as_str()
        {
            vars.push(EnvVar {
                name: name.to_owned(),
                value,
                path: container.path(&format!("env[{i}].valueFrom")),
                shown: format!("env {name} {}", from_map(map, key)),
            });
        }
    }
    vars
}

/// The peers a container names.
fn peers(inventory: &Inventory<'_>, namespace: &str, container: &Container<'_>) -> Vec<Peer> {
    let env = environment(inventory, namespace, container);
    // The last definition of a name is the one the container sees.
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|var| var.name == name)
            .map(|var| var.value)
    };
    let domain = lookup("SERVICES_DOMAIN").filter(|domain| !domain.is_empty());
    let mut found = Vec::new();
    for var in &env {
        let authorities = url_authorities(var.value);
        if let Some(prefix) = var.name.strip_suffix("_HOSTNAME")
            && authorities.is_empty()
        {
            let (host, port) = split_port(var.value.trim());
            let host = match domain {
                Some(domain) => format!("{host}.{domain}"),
                None => host.to_owned(),
            };
            let port = port.or_else(|| {
                let written = lookup(&format!("{prefix}_SERVICE_PORT"))?;
                written.trim().parse().ok()
            });
            let (path, what) = (var.path.clone(), var.shown.clone());
            found.push(Peer {
                path,
                what,
                host,
                port,
            });
        }
        for authority in authorities {
            let (host, port) = split_port(authority);
            let what = format!("the URL in {}", var.shown);
            let path = var.path.clone();
            found.push(Peer {
                path,
                what,
                host: host.to_owned(),
                port,
            });
        }
    }
    for list in ["command", "args"] {
        for (i, arg) in items(container.value.get(list)).iter().enumerate() {
            let Some(arg) = arg.as_str() else { continue };
            for authority in url_authorities(arg) {
                let (host, port) = split_port(authority);
                let path = container.path(&format!("{list}[{i}]"));
                let what = format!("a URL in {list}[{i}]");
                found.push(Peer {
                    path,
                    what,
                    host: host.to_owned(),
                    port,
                });
            }
        }
    }
    found
}

/// `postgres:5432` → (`postgres`, 5432); `[::1]:80` → (`::1`, 80); `reviews` → (`reviews`, none).
fn split_port(authority: &str) -> (&str, Option<u16>) {
    let port = authority
        .rsplit_once(':')
        .filter(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|(_, port)| port.parse().ok());
    (host::strip_port(authority), port)
}

/// The `host[:port]` of each URL in `text` (`scheme://[user[:password]@]host[:port][/...]`),
/// but those of [`LOCAL_SCHEMES`].
pub fn url_authorities(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
            .map_or(0, |i| i + 1);
        let local = LOCAL_SCHEMES
            .iter()
            .any(|s| rest[scheme_start..at].eq_ignore_ascii_case(s));
        let after = &rest[at + 3..];
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | ',' | ';' | '"' | '\'') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        // The password may hold `@`: the host is after the last one.
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        if !host_port.is_empty() && !local {
            found.push(host_port);
        }
        rest = &after[end..];
    }
    found
}

/// Where a host name leads.
enum Resolved<'a> {
    /// A Service of the manifests.
    Service(&'a Object),
    /// Not the cluster's to answer: localhost, an address, an outside name, a ServiceEntry host.
    Elsewhere,
    /// A name of the cluster no Service has; the name it was looked for as.
    Missing(String),
}

fn resolve<'a>(inventory: &Inventory<'a>, host: &str, namespace: &str) -> Resolved<'a> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    // Filled in by Kubernetes (`$(POD_NAMESPACE)`) or a shell: not a name yet.
    if host.is_empty() || host.contains('$') || host.contains('{') {
        return Resolved::Elsewhere;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".localhost") || bare.parse::<IpAddr>().is_ok() {
        return Resolved::Elsewhere;
    }
    let candidates = host::request_candidates(&host, namespace);
    if let Some(service) = candidates.iter().find_map(|c| inventory.service(c)) {
        return Resolved::Service(service);
    }
    if candidates.iter().any(|c| inventory.service_entry_has(c)) {
        return Resolved::Elsewhere;
    }
    let in_cluster = match host.matches('.').count() {
        0 => true,
        1 => host
            .split_once('.')
            .is_some_and(|(_, ns)| inventory.namespaces.contains(ns)),
        _ => host.ends_with(".svc") || host.ends_with(CLUSTER_SUFFIX),
    };
    match candidates.into_iter().next() {
        Some(looked_for) if in_cluster => Resolved::Missing(looked_for),
        _ => Resolved::Elsewhere,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_of_urls_in_a_text() {
        assert_eq!(
            url_authorities("postgres://ratings:p@ss@postgres:5432/ratings"),
            ["postgres:5432"]
        );
        assert_eq!(
            url_authorities("--control-plane=http://control:15010"),
            ["control:15010"]
        );
        assert_eq!(
            url_authorities("http://[::1]:80/ and https://a.b.svc/x"),
            ["[::1]:80", "a.b.svc"]
        );
        assert!(url_authorities("sqlite://data/ratings.db?mode=rwc").is_empty());
        assert_eq!(url_authorities("x=SQLite://a http://b"), ["b"]);
        assert!(url_authorities("reviews").is_empty());
    }

    #[test]
    fn ports_split_from_hosts() {
        assert_eq!(split_port("postgres:5432"), ("postgres", Some(5432)));
        assert_eq!(split_port("[::1]:80"), ("::1", Some(80)));
        assert_eq!(split_port("[::1]"), ("::1", None));
        assert_eq!(split_port("reviews"), ("reviews", None));
        assert_eq!(split_port("reviews:http"), ("reviews:http", None));
    }
}
