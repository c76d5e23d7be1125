//! Every ServiceAccount, ConfigMap and Secret a pod names is in the manifests, in the pod's
//! namespace: `serviceAccountName`, `imagePullSecrets`, the `configMap`, `secret` and
//! `projected` volumes, `envFrom`, and `valueFrom` (whose key must be in the object, too). A
//! missing one is a pod that never starts (`CreateContainerConfigError`, a volume that cannot
//! mount), or one without its service account. References marked `optional: true` may be
//! missing. Secrets and ConfigMaps that kustomize generates get a hash suffix, and the rendered
//! output renames the references with them, so the names here already agree.

use serde_json::Value;

use crate::finding::{Check, Finding};
use crate::inventory::Inventory;
use crate::object::{PodTemplate, get, items};

/// One name a pod refers to.
struct Reference {
    kind: &'static str,
    name: String,
    /// The key a `valueFrom` reads, which the object must hold.
    key: Option<String>,
    path: String,
    what: String,
}

pub fn check(inventory: &Inventory<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for template in &inventory.templates {
        let namespace = &template.owner.namespace;
        for reference in references(template) {
            let message = match inventory.find(reference.kind, namespace, &reference.name) {
                None => format!(
                    "{} names {} {}, which is not in the manifests (namespace {namespace})",
                    reference.what, reference.kind, reference.name
                ),
                Some(object) => match &reference.key {
                    Some(key) if !holds(&object.value, key) => format!(
                        "{} reads key {key} of {} {}, which has no such key",
                        reference.what, reference.kind, reference.name
                    ),
                    _ => continue,
                },
            };
            findings.push(Finding::at(
                Check::References,
                template.owner,
                &reference.path,
                message,
            ));
        }
    }
    findings
}

/// Whether a ConfigMap or Secret holds `key` in any of its data fields.
fn holds(object: &Value, key: &str) -> bool {
    ["data", "binaryData", "stringData"]
        .iter()
        .any(|field| object.get(field).and_then(|d| d.get(key)).is_some())
}

/// Where ConfigMaps and Secrets are named: (field of the holder, kind, field of the name).
type Sources = [(&'static str, &'static str, &'static str)];
const VOLUME: &Sources = &[
    ("configMap", "ConfigMap", "name"),
    ("secret", "Secret", "secretName"),
];
const PROJECTED: &Sources = &[
    ("configMap", "ConfigMap", "name"),
    ("secret", "Secret", "name"),
];
const ENV_FROM: &Sources = &[
    ("configMapRef", "ConfigMap", "name"),
    ("secretRef", "Secret", "name"),
];
const VALUE_FROM: &Sources = &[
    ("valueFrom.configMapKeyRef", "ConfigMap", "name"),
    ("valueFrom.secretKeyRef", "Secret", "name"),
];

fn references(template: &PodTemplate<'_>) -> Vec<Reference> {
    let mut found = Vec::new();
    let spec = template.spec;
    for field in ["serviceAccountName", "serviceAccount"] {
        // Every namespace has its `default` ServiceAccount.
        if let Some(name) = spec.get(field).and_then(Value::as_str)
            && name != "default"
        {
            found.push(Reference {
                kind: "ServiceAccount",
                name: name.to_owned(),
                key: None,
                path: template.path(field),
                what: field.to_owned(),
            });
        }
    }
    let pull_secrets = items(spec.get("imagePullSecrets"));
    for (i, secret) in pull_secrets.iter().enumerate() {
        let path = template.path(&format!("imagePullSecrets[{i}]"));
        // The item itself names the Secret: the empty field path is the holder.
        let sources = &[("", "Secret", "name")];
        named_in(secret, sources, &path, "imagePullSecrets", &mut found);
    }
    for (i, volume) in items(spec.get("volumes")).iter().enumerate() {
        let path = template.path(&format!("volumes[{i}]"));
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("?");
        let what = format!("volume {name}");
        named_in(volume, VOLUME, &path, &what, &mut found);
        for source in items(get(volume, "projected.sources")) {
            named_in(source, PROJECTED, &path, &what, &mut found);
        }
    }
    for container in template.containers() {
        let what = format!("container {}", container.name);
        for (i, from) in items(container.value.get("envFrom")).iter().enumerate() {
            let path = container.path(&format!("envFrom[{i}]"));
            named_in(from, ENV_FROM, &path, &what, &mut found);
        }
        for (i, var) in items(container.value.get("env")).iter().enumerate() {
            let path = container.path(&format!("env[{i}].valueFrom"));
            let name = var.get("name").and_then(Value::as_str).unwrap_or("?");
            let what = format!("container {}, env {name},", container.name);
            named_in(var, VALUE_FROM, &path, &what, &mut found);
        }
    }
    found
}

/// The ConfigMaps and Secrets `holder` names through `sources` (with the `key` a `valueFrom`
/// reads), but those marked optional.
fn named_in(holder: &Value, sources: &Sources, path: &str, what: &str, found: &mut Vec<Reference>) {
    for (field, kind, name_field) in sources {
        let Some(source) = required(get(holder, field)) else {
            continue;
        };
        if let Some(name) = source.get(*name_field).and_then(Value::as_str) {
            found.push(Reference {
                kind,
                name: name.to_owned(),
                key: source.get("key").and_then(Value::as_str).map(str::to_owned),
                path: path.to_owned(),
                what: what.to_owned(),
            });
        }
    }
}

/// The reference, unless it is marked `optional: true`.
fn required(reference: Option<&Value>) -> Option<&Value> {
    reference.filter(|r| r.get("optional").and_then(Value::as_bool) != Some(true))
}
