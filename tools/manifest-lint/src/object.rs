//! One Kubernetes object of the manifests, where it was written, and the parts of it the checks
//! share: labels, and the pod template of a workload with its containers.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use mesh_config::yaml::SpanMap;
use serde_json::Value;

/// The namespace of an object that names none: where `kubectl apply` puts it without `-n`
/// (`sailkit lint -n NS` changes it, as `kubectl apply -n NS` does).
pub const DEFAULT_NAMESPACE: &str = "default";

/// Kinds that live outside any namespace; they are named without one.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Labels, or a selector's `matchLabels`: every value as text.
pub type Labels = BTreeMap<String, String>;

/// One object: a document of the stream, or an item of a `kind: List`.
#[derive(Debug, Clone)]
pub struct Object {
    /// The file it came from, as given (`-` for standard input).
    pub file: Arc<str>,
    pub kind: String,
    pub api_version: String,
    /// `metadata.namespace`, or the namespace the objects are read into (by default
    /// [`DEFAULT_NAMESPACE`]).
    pub namespace: String,
    pub name: String,
    pub value: Value,
    /// The positions of the whole document, shared by the items of a List.
    spans: Arc<SpanMap>,
    /// Where the object sits in its document: empty, or `items[3]` in a List.
    prefix: String,
}

impl Object {
    /// `namespace` is where the object goes if it names none.
    pub(crate) fn new(
        file: Arc<str>,
        value: Value,
        spans: Arc<SpanMap>,
        prefix: String,
        namespace: &str,
    ) -> Self {
        let default_namespace = namespace;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let metadata = value.get("metadata");
        let namespace = text(metadata.and_then(|m| m.get("namespace")));
        Object {
            file,
            kind: text(value.get("kind")),
            api_version: text(value.get("apiVersion")),
            namespace: if namespace.is_empty() {
                default_namespace.to_owned()
            } else {
                namespace
            },
            name: text(metadata.and_then(|m| m.get("name"))),
            value,
            spans,
            prefix,
        }
    }

    /// The line where `path` (`spec.ports[0].targetPort`, relative to the object) was written,
    /// or that of its nearest written ancestor.
    pub fn line(&self, path: &str) -> usize {
        self.spans.locate(&join(&self.prefix, path)).line
    }

    /// The API group, `networking.istio.io` for `networking.istio.io/v1` (empty for the core).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }

    /// The pod template of a workload (the Pod itself for a Pod), if this object has one.
    pub fn pod_template(&self) -> Option<PodTemplate<'_>> {
        let path = match self.kind.as_str() {
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "Job" => "spec.template",
            "CronJob" => "spec.jobTemplate.spec.template",
            "Pod" => "",
            _ => return None,
        };
        let template = get(&self.value, path)?;
        Some(PodTemplate {
            owner: self,
            labels: to_labels(get(template, "metadata.labels").unwrap_or(&Value::Null)),
            spec: template.get("spec").unwrap_or(&Value::Null),
            spec_path: join(path, "spec"),
        })
    }
}

impl fmt::Display for Object {
    /// `Service bookinfo/reviews`, or `Namespace bookinfo` for a cluster-scoped kind.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if CLUSTER_SCOPED.contains(&self.kind.as_str()) {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The pod a workload makes: its labels and its spec.
#[derive(Debug, Clone)]
pub struct PodTemplate<'a> {
    pub owner: &'a Object,
    pub labels: Labels,
    pub spec: &'a Value,
    spec_path: String,
}

impl<'a> PodTemplate<'a> {
    /// The path of a field of the pod spec, relative to the owner (`spec.template.spec.volumes`).
    pub fn path(&self, field: &str) -> String {
        join(&self.spec_path, field)
    }

    /// Whether every pair of `selector` is among the template's labels (an empty selector
    /// selects nothing here: a Service without one has no pods of its own).
    pub fn selected_by(&self, selector: &Labels) -> bool {
        !selector.is_empty() && selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }

    /// Every container, init and ephemeral ones too, with its path.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut all = Vec::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for (i, value) in items(self.spec.get(list)).iter().enumerate() {
                all.push(Container {
                    name: value.get("name").and_then(Value::as_str).unwrap_or("?"),
                    path: self.path(&format!("{list}[{i}]")),
                    value,
                });
            }
        }
        all
    }
}

/// One container of a pod template.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    pub name: &'a str,
    /// Its path in the owner (`spec.template.spec.containers[0]`).
    pub path: String,
    pub value: &'a Value,
}

impl Container<'_> {
    pub fn path(&self, field: &str) -> String {
        join(&self.path, field)
    }
}

/// `a` + `b` as a field path.
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ if b.starts_with('[') => format!("{a}{b}"),
        _ => format!("{a}.{b}"),
    }
}

/// The value at a dotted path of mapping keys (`spec.template`), if every step is there.
pub fn get<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// The items of a sequence, none for anything else.
pub fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A scalar as text (`9080`, `true`, `v1`); `None` for mappings, sequences and null.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A mapping of labels; anything else is none.
pub fn to_labels(value: &Value) -> Labels {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// `app=reviews,version=v1`, as kubectl writes a selector.
pub fn show_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}
