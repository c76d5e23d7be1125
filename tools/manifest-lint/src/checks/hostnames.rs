//! Every peer a container is told to call is a Service of the manifests: the value of an env
//! var (written in the container, or read from a ConfigMap by `envFrom` or `configMapKeyRef`)
//! named `*_HOSTNAME` (Bookinfo's `REVIEWS_HOSTNAME=reviews`, with `SERVICES_DOMAIN`
//! appended when the container sets it, as productpage does), and the host of every URL in an
//! env value or an argument (`postgres://ratings@postgres:5432/ratings`,
//! `--control-plane=http://sailkit-control:15010`). A wrong name is accepted everywhere and
//! fails only when the first call cannot resolve it.
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
        for container in template.containers() {
            let namespace = &template.owner.namespace;
            for (path, what, host) in peers(inventory, namespace, &container) {
                if let Some(looked_for) = unresolved(inventory, &host, &template.owner.namespace) {
                    findings.push(Finding::at(
                        Check::Hostnames,
                        template.owner,
                        &path,
                        format!(
                            "container {}: {what} names host {host}, which is no Service of \
                             the manifests (looked for {looked_for})",
                            container.name
                        ),
                    ));
                }
            }
        }
    }
    findings
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

/// The peer hosts a container names: (path of the field, what it is, the host).
fn peers(
    inventory: &Inventory<'_>,
    namespace: &str,
    container: &Container<'_>,
) -> Vec<(String, String, String)> {
    let env = environment(inventory, namespace, container);
    let domain = env
        .iter()
        .rev()
        .find(|var| var.name == "SERVICES_DOMAIN")
        .map(|var| var.value)
        .filter(|domain| !domain.is_empty());
    let mut found = Vec::new();
    for var in &env {
        let hosts = url_hosts(var.value);
        if var.name.ends_with("_HOSTNAME") && hosts.is_empty() {
            let host = host::strip_port(var.value.trim());
            let host = match domain {
                Some(domain) => format!("{host}.{domain}"),
                None => host.to_owned(),
            };
            found.push((var.path.clone(), var.shown.clone(), host));
        }
        for host in hosts {
            let what = format!("the URL in {}", var.shown);
            found.push((var.path.clone(), what, host.to_owned()));
        }
    }
    for list in ["command", "args"] {
        for (i, arg) in items(container.value.get(list)).iter().enumerate() {
            let Some(arg) = arg.as_str() else { continue };
            for host in url_hosts(arg) {
                let path = container.path(&format!("{list}[{i}]"));
                found.push((path, format!("a URL in {list}[{i}]"), host.to_owned()));
            }
        }
    }
    found
}

/// The hosts of the URLs in `text` (`scheme://[user[:password]@]host[:port][/...]`), but
/// those of [`LOCAL_SCHEMES`].
pub fn url_hosts(text: &str) -> Vec<&str> {
    let mut hosts = Vec::new();
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
        let host = host::strip_port(host_port);
        if !host.is_empty() && !local {
            hosts.push(host);
        }
        rest = &after[end..];
    }
    hosts
}

/// `None` when `host` is fine; otherwise the name it was looked for as.
fn unresolved(inventory: &Inventory<'_>, host: &str, namespace: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    // Filled in by Kubernetes (`$(POD_NAMESPACE)`) or a shell: not a name yet.
    if host.is_empty() || host.contains('$') || host.contains('{') {
        return None;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".localhost") || bare.parse::<IpAddr>().is_ok() {
        return None;
    }
    let candidates = host::request_candidates(&host, namespace);
    if candidates
        .iter()
        .any(|c| inventory.service(c).is_some() || inventory.service_entry_has(c))
    {
        return None;
    }
    let in_cluster = match host.matches('.').count() {
        0 => true,
        1 => host
            .split_once('.')
            .is_some_and(|(_, ns)| inventory.namespaces.contains(ns)),
        _ => host.ends_with(".svc") || host.ends_with(CLUSTER_SUFFIX),
    };
    in_cluster.then(|| candidates.into_iter().next().unwrap_or(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls_in_a_text() {
        assert_eq!(
            url_hosts("postgres://ratings:p@ss@postgres:5432/ratings"),
            ["postgres"]
        );
        assert_eq!(
            url_hosts("--control-plane=http://control:15010"),
            ["control"]
        );
        assert_eq!(
            url_hosts("http://[::1]:80/ and https://a.b.svc/x"),
            ["::1", "a.b.svc"]
        );
        assert!(url_hosts("sqlite://data/ratings.db?mode=rwc").is_empty());
        assert_eq!(url_hosts("x=SQLite://a http://b"), ["b"]);
        assert!(url_hosts("reviews").is_empty());
    }
}
