//! The repository's Kubernetes manifests as a cluster would hold them once applied: an overlay
//! rendered with `kubectl kustomize`, each Deployment's pods (with IPs), each Service's
//! EndpointSlice, and the `$(VAR)`s of a container's args filled in as the kubelet would.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::fake_api::FakeApi;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The objects of `overlay` (`k8s/overlays/mesh`), as `kubectl kustomize` renders them. It
/// renders a copy of k8s/, with the secrets file that `scripts/k8s-secrets.sh` makes, so that
/// nothing is written into the repository.
pub fn render(overlay: &str) -> Vec<Value> {
    let copy = tempfile::tempdir().expect("temporary folder");
    copy_dir(&root().join("k8s"), &copy.path().join("k8s"));
    let secrets = copy.path().join("k8s/components/namespace/secrets.env");
    run(Command::new("bash")
        .arg(root().join("scripts/k8s-secrets.sh"))
        .arg(&secrets));
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".to_owned());
    let overlay_dir = copy.path().join(overlay);
    let rendered = run(Command::new(&kubectl).arg("kustomize").arg(overlay_dir));
    parse(&rendered, overlay)
}

/// The Istio objects of `k8s/networking/<file>`, in `namespace` (as `kubectl apply -n`).
pub fn networking(file: &str, namespace: &str) -> Vec<Value> {
    let path = root().join("k8s/networking").join(file);
    let text = std::fs::read_to_string(&path).expect("a networking file");
    let mut objects = parse(&text, file);
    for object in &mut objects {
        object["metadata"]["namespace"] = json!(namespace);
    }
    objects
}

/// Serves `objects` from `api`, each in its kind's collection.
pub fn serve(api: &FakeApi, objects: &[Value]) {
    for object in objects {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let group = if api_version.contains('/') {
            "apis"
        } else {
            "api"
        };
        let kind = object["kind"].as_str().unwrap_or_default().to_lowercase();
        api.apply(&format!("/{group}/{api_version}/{kind}s"), object.clone());
    }
}

/// What the cluster holds once the rendered objects run: their Services, a pod for each replica
/// of each Deployment and StatefulSet, and an EndpointSlice for each Service.
pub struct Cluster {
    pub services: Vec<Value>,
    /// (the workload that made it, the pod).
    pub pods: Vec<(Value, Value)>,
    pub slices: Vec<Value>,
}

impl Cluster {
    pub fn running(rendered: &[Value]) -> Cluster {
        let services: Vec<Value> = of_kind(rendered, &["Service"]).cloned().collect();
        let mut pods = Vec::new();
        for workload in of_kind(rendered, &["Deployment", "StatefulSet"]) {
            let replicas = workload["spec"]["replicas"].as_u64().unwrap_or(1);
            for replica in 0..replicas {
                let pod = json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("{}-{replica}", name(workload)),
                        "namespace": workload["metadata"]["namespace"],
                        "labels": workload["spec"]["template"]["metadata"]["labels"]},
                    "spec": workload["spec"]["template"]["spec"],
                    "status": {"podIP": format!("10.1.0.{}", pods.len() + 1)}});
                pods.push((workload.clone(), pod));
            }
        }
        let slices = services.iter().map(|s| slice(s, &pods)).collect();
        Cluster {
            services,
            pods,
            slices,
        }
    }

    /// Everything to serve: Services, Pods and EndpointSlices.
    pub fn objects(&self) -> Vec<Value> {
        let pods = self.pods.iter().map(|(_, pod)| pod.clone());
        self.services
            .iter()
            .cloned()
            .chain(pods)
            .chain(self.slices.iter().cloned())
            .collect()
    }
}

/// The EndpointSlice the cluster makes for `service`: its port names with the resolved
/// targetPorts, and a ready endpoint for each pod its selector matches.
fn slice(service: &Value, pods: &[(Value, Value)]) -> Value {
    let namespace = &service["metadata"]["namespace"];
    let selector = service["spec"]["selector"].as_object();
    let selected: Vec<&Value> = pods
        .iter()
        .map(|(_, pod)| pod)
        .filter(|pod| pod["metadata"]["namespace"] == *namespace)
        .filter(|pod| {
            selector.is_some_and(|selector| {
                selector
                    .iter()
                    .all(|(key, value)| pod["metadata"]["labels"][key] == *value)
            })
        })
        .collect();
    let ports: Vec<Value> = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|port| {
            let number = match &port["targetPort"] {
                Value::Null => port["port"].clone(),
                Value::String(named) => container_port(selected.first(), named),
                number => number.clone(),
            };
            json!({"name": port["name"], "port": number})
        })
        .collect();
    let endpoints: Vec<Value> = selected
        .iter()
        .map(|pod| {
            json!({"addresses": [pod["status"]["podIP"]], "conditions": {"ready": true},
                "targetRef": {"kind": "Pod", "name": name(pod), "namespace": namespace}})
        })
        .collect();
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": format!("{}-x", name(service)), "namespace": namespace,
            "labels": {"kubernetes.io/service-name": name(service)}},
        "ports": ports, "endpoints": endpoints})
}

/// The number of the container port named `named` in `pod`.
fn container_port(pod: Option<&&Value>, named: &str) -> Value {
    let containers = pod.and_then(|pod| pod["spec"]["containers"].as_array());
    containers
        .into_iter()
        .flatten()
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .find(|port| port["name"] == named)
        .map(|port| port["containerPort"].clone())
        .unwrap_or_else(|| panic!("no container port named {named}"))
}

/// The args of `container` in `pod`, with each `$(VAR)` of its env filled in from the pod's
/// fields (`fieldRef`) or the value written.
pub fn args(pod: &Value, container: &str) -> Vec<String> {
    let containers = pod["spec"]["containers"].as_array();
    let spec = containers
        .into_iter()
        .flatten()
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("no container {container} in pod {}", name(pod)));
    let env: HashMap<String, String> = spec["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|var| {
            let value = match var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some(path) => field(pod, path),
                None => var["value"].as_str().unwrap_or_default().to_owned(),
            };
            (text(&var["name"]), value)
        })
        .collect();
    let args = spec["args"].as_array().into_iter().flatten();
    args.map(|arg| {
        env.iter().fold(text(arg), |arg, (var, value)| {
            arg.replace(&format!("$({var})"), value)
        })
    })
    .collect()
}

/// A pod's field as the downward API gives it (`metadata.labels['app']`, `status.podIP`).
fn field(pod: &Value, path: &str) -> String {
    let value = match path.strip_prefix("metadata.labels['") {
        Some(label) => &pod["metadata"]["labels"][label.trim_end_matches("']")],
        None => path.split('.').fold(pod, |value, key| &value[key]),
    };
    value.as_str().unwrap_or_default().to_owned()
}

/// The value of `--flag=` in `args`.
pub fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
    let prefix = format!("{flag}=");
    args.iter()
        .find_map(|arg| arg.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"))
}

/// `app=x,version=y` → the map.
pub fn labels(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

pub fn name(object: &Value) -> String {
    text(&object["metadata"]["name"])
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

pub fn of_kind<'a>(objects: &'a [Value], kinds: &[&str]) -> impl Iterator<Item = &'a Value> {
    objects
        .iter()
        .filter(move |object| kinds.iter().any(|kind| object["kind"] == *kind))
}

fn parse(text: &str, source: &str) -> Vec<Value> {
    let documents = mesh_config::yaml::parse_documents(text)
        .unwrap_or_else(|error| panic!("{source}: {}", error.message));
    documents
        .into_iter()
        .map(|document| document.value)
        .filter(Value::is_object)
        .collect()
}

/// Runs `command` and returns its output; kubectl missing is said how to mend.
fn run(command: &mut Command) -> String {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run {program}: {error}. This test renders the overlays with kubectl's \
             kustomize: install kubectl (https://kubernetes.io/docs/tasks/tools/), or set \
             KUBECTL to its path"
        )
    });
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a copy");
        }
    }
}
