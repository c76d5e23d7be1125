//! Every ServiceAccount, ConfigMap and Secret a pod names is in the manifests, in the pod's
//! namespace: `serviceAccountName`, `imagePullSecrets`, the `configMap`, `secret` and
//! `projected` volumes, `envFrom`, and `valueFrom` (whose key must be in the object, too). A
//! missing one is a pod that never starts (`CreateContainerConfigError`, a volume that cannot
//! mount), or one without its service account. References marked `optional: true` may be
//! missing. Secrets and ConfigMaps that kustomize generates get a hash suffix, and the rendered
//! output renames the references with them, so the names here already agree.
//!
//! Beyond pods: the ServiceAccounts a RoleBinding or ClusterRoleBinding binds (in a namespace
//! of the manifests) and the Role it grants, and the workload a HorizontalPodAutoscaler scales.
//! ClusterRoles every cluster has (`view`, `edit`, `admin`, `cluster-admin`, `system:*`) need
//! not be in the manifests.

use serde_json::Value;

use crate::finding::{Check, Finding};
use crate::inventory::Inventory;
use crate::object::{Object, PodTemplate, get, items};

/// ClusterRoles that every cluster has.
const BUILT_IN_CLUSTER_ROLES: &[&str] = &["cluster-admin", "admin", "edit", "view"];

/// One name an object refers to.
struct Reference {
    kind: String,
    /// Where the object named must be; `None` for a cluster-scoped kind.
    namespace: Option<String>,
    name: String,
    /// The key a `valueFrom` reads, which the object must hold.
    key: Option<String>,
    path: String,
    what: String,
}

pub fn check(inventory: &Inventory<'_>) -> Vec<Finding> {
    let mut all: Vec<(&Object, Reference)> = Vec::new();
    for template in &inventory.templates {
        all.extend(
            references(template)
                .into_iter()
                .map(|r| (template.owner, r)),
        );
    }
    for object in inventory.objects {
        all.extend(
            other_references(inventory, object)
                .into_iter()
                .map(|r| (object, r)),
        );
    }
    let mut findings = Vec::new();
    for (owner, reference) in all {
        let Reference {
            kind, name, what, ..
        } = &reference;
        let found = match &reference.namespace {
            Some(namespace) => inventory.find(kind, namespace, name),
            None => inventory
                .objects
                .iter()
                .find(|o| o.is(kind) && o.name == *name),
        };
        let message = match found {
            None => {
                let place = match &reference.namespace {
                    Some(namespace) => format!(" (namespace {namespace})"),
                    None => String::new(),
                };
                format!("{what} names {kind} {name}, which is not in the manifests{place}")
            }
            Some(object) => match &reference.key {
                Some(key) if !holds(&object.value, key) => {
                    format!("{what} reads key {key} of {kind} {name}, which has no such key")
                }
                _ => continue,
            },
        };
        findings.push(Finding::at(
            Check::References,
            owner,
            &reference.path,
            message,
        ));
    }
    findings
}

/// What a RoleBinding, a ClusterRoleBinding or a HorizontalPodAutoscaler names.
fn other_references(inventory: &Inventory<'_>, object: &Object) -> Vec<Reference> {
    let mut found = Vec::new();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut add = |kind: String, namespace: Option<String>, name: String, path: String, what| {
        found.push(Reference {
            kind,
            namespace,
            name,
            key: None,
            path,
            what,
        });
    };
    match object.kind.as_str() {
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_kind = text(get(&object.value, "roleRef.kind"));
            let role = text(get(&object.value, "roleRef.name"));
            let built_in = role_kind == "ClusterRole"
                && (BUILT_IN_CLUSTER_ROLES.contains(&role.as_str()) || role.starts_with("system:"));
            if !built_in && !role.is_empty() {
                let namespace = (role_kind == "Role").then(|| object.namespace.clone());
                add(
                    role_kind,
                    namespace,
                    role,
                    "roleRef".into(),
                    "roleRef".into(),
                );
            }
            for (i, subject) in items(get(&object.value, "subjects")).iter().enumerate() {
                let name = text(subject.get("name"));
                if text(subject.get("kind")) != "ServiceAccount" || name == "default" {
                    continue;
                }
                let namespace = subject
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or(&object.namespace)
                    .to_owned();
                // A namespace the manifests do not fill is someone else's.
                if inventory.namespaces.contains(namespace.as_str()) {
                    let path = format!("subjects[{i}]");
                    add(
                        "ServiceAccount".into(),
                        Some(namespace),
                        name,
                        path,
                        "a subject".into(),
                    );
                }
            }
        }
        "HorizontalPodAutoscaler" => {
            let kind = text(get(&object.value, "spec.scaleTargetRef.kind"));
            let name = text(get(&object.value, "spec.scaleTargetRef.name"));
            if !kind.is_empty() && !name.is_empty() {
                let path = "spec.scaleTargetRef".to_owned();
                add(
                    kind,
                    Some(object.namespace.clone()),
                    name,
                    path,
                    "scaleTargetRef".into(),
                );
            }
        }
        _ => {}
    }
    found
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
                kind: "ServiceAccount".into(),
                namespace: Some(template.owner.namespace.clone()),
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
    for reference in &mut found {
        reference.namespace = Some(template.owner.namespace.clone());
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
                kind: (*kind).to_owned(),
                // The pod's, which `references` fills in.
                namespace: None,
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
