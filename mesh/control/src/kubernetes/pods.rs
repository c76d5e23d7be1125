//! Pods → the mesh's workload table, as istiod names a Pod's workload for metrics.
//!
//! A Pod's workload is what made it: the Deployment behind its ReplicaSet (the ReplicaSet's
//! name minus the `-<pod-template-hash>` suffix the Deployment added: `reviews-v2-5d8f7c9b4`
//! → `reviews-v2`), else its controller (a StatefulSet, a DaemonSet, a Job), else the Pod
//! itself. Its proxy id is `<pod>.<namespace>`, the id its endpoints carry
//! (`kubernetes::endpoints`).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodSpec};
use mesh_api::v1::Workload;

/// The label a Deployment puts on its ReplicaSets' Pods, whose value ends the ReplicaSet's name.
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// The workloads of `pods` in `cluster`, sorted by proxy id.
pub fn workloads(pods: &[Arc<Pod>], cluster: &str) -> Vec<Workload> {
    let mut workloads: Vec<Workload> = pods
        .iter()
        .filter_map(|pod| {
            let meta = &pod.metadata;
            let (name, namespace) = (meta.name.as_deref()?, meta.namespace.as_deref()?);
            let labels = meta.labels.clone().unwrap_or_default();
            Some(Workload {
                proxy_id: format!("{name}.{namespace}"),
                name: workload_name(pod).unwrap_or_else(|| name.to_owned()),
                namespace: namespace.to_owned(),
                service_account: pod
                    .spec
                    .as_ref()
                    .and_then(|spec| spec.service_account_name.clone())
                    .unwrap_or_default(),
                labels: labels.into_iter().collect(),
                cluster: cluster.to_owned(),
            })
        })
        .collect();
    workloads.sort_by(|a, b| a.proxy_id.cmp(&b.proxy_id));
    workloads
}

/// The name of what made the Pod: its Deployment's, else its controller's; `None` for a bare
/// Pod.
fn workload_name(pod: &Pod) -> Option<String> {
    let owners = pod.metadata.owner_references.as_ref()?;
    let owner = owners
        .iter()
        .find(|owner| owner.controller == Some(true))
        .or_else(|| owners.first())?;
    let hash = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(POD_TEMPLATE_HASH));
    if owner.kind == "ReplicaSet"
        && let Some(hash) = hash
        && let Some(deployment) = owner.name.strip_suffix(&format!("-{hash}"))
    {
        return Some(deployment.to_owned());
    }
    Some(owner.name.clone())
}

/// What is kept of a Pod: its metadata (name, labels, owners) and its service account. The
/// rest of its spec and its status are most of its size and of its changes, and never read.
pub fn trim(pod: &mut Pod) {
    let service_account_name = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.service_account_name.clone());
    pod.spec = Some(PodSpec {
        service_account_name,
        ..PodSpec::default()
    });
    pod.status = None;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(value: serde_json::Value) -> Arc<Pod> {
        Arc::new(serde_json::from_value(value).expect("a Pod"))
    }

    #[test]
    fn a_pod_is_named_by_its_deployment_else_its_controller_else_itself() {
        let pods = [
            pod(
                json!({"metadata": {"name": "reviews-v2-5d8f7c9b4-x7k2p", "namespace": "default",
                "labels": {"app": "reviews", "version": "v2", "pod-template-hash": "5d8f7c9b4"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "reviews-v2-5d8f7c9b4", "uid": "1", "controller": true}]},
                "spec": {"serviceAccountName": "bookinfo-reviews", "containers": []}}),
            ),
            pod(
                json!({"metadata": {"name": "postgres-0", "namespace": "default",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "name": "postgres", "uid": "2", "controller": true}]}}),
            ),
            pod(json!({"metadata": {"name": "debug", "namespace": "tools"}})),
        ];
        let found = workloads(&pods, "Kubernetes");
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|w| (w.proxy_id.as_str(), w.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("debug.tools", "debug"),
                ("postgres-0.default", "postgres"),
                ("reviews-v2-5d8f7c9b4-x7k2p.default", "reviews-v2"),
            ]
        );
        let reviews = &found[2];
        assert_eq!(reviews.service_account, "bookinfo-reviews");
        assert_eq!(reviews.cluster, "Kubernetes");
        assert_eq!(
            reviews.labels.get("version").map(String::as_str),
            Some("v2")
        );
    }

    #[test]
    fn trimming_keeps_the_service_account_and_drops_the_rest() {
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "a", "labels": {"app": "a"}},
            "spec": {"serviceAccountName": "sa", "containers": [{"name": "c", "image": "i"}]},
            "status": {"podIP": "10.0.0.1"}}))
        .expect("a Pod");
        trim(&mut pod);
        let spec = pod.spec.as_ref().expect("a spec");
        assert_eq!(spec.service_account_name.as_deref(), Some("sa"));
        assert!(spec.containers.is_empty() && pod.status.is_none());
        assert!(pod.metadata.labels.is_some());
    }
}
