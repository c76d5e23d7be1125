//! The workloads from the cluster: Services, EndpointSlices, and the Pods' labels.
//!
//! Three watches keep three stores; `endpoints` turns them into the mesh's services. Pods are
//! watched as metadata only (`PartialObjectMeta`): their labels are all that is used, and a pod's
//! spec and status are most of its size and most of its changes.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service as KubeService};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use kube::{Client, Resource};
use mesh_api::v1::Service;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::endpoints;
use super::watch::{self, Kept};

/// The three stores.
pub struct Workloads {
    services: Kept<KubeService>,
    slices: Kept<EndpointSlice>,
    pods: Kept<PartialObjectMeta<Pod>>,
}

/// Starts the three watches in `namespace` (all with `None`); `changed` wakes on every change.
pub fn watch(
    client: &Client,
    namespace: Option<&str>,
    changed: &Arc<Notify>,
    shutdown: &CancellationToken,
) -> Workloads {
    let changed = || Arc::clone(changed);
    Workloads {
        services: watch::keep(
            (),
            watcher(api(client, namespace), watch::config()),
            "services".to_owned(),
            changed(),
            shutdown.clone(),
        ),
        slices: watch::keep(
            (),
            watcher(api(client, namespace), watch::config()),
            "endpointslices.discovery.k8s.io".to_owned(),
            changed(),
            shutdown.clone(),
        ),
        pods: watch::keep(
            (),
            watcher(
                api::<PartialObjectMeta<Pod>>(client, namespace),
                watch::config(),
            ),
            "pods".to_owned(),
            changed(),
            shutdown.clone(),
        ),
    }
}

impl Workloads {
    /// Waits until the three kinds have been listed once.
    pub async fn listed(&self) {
        self.services.listed().await;
        self.slices.listed().await;
        self.pods.listed().await;
    }

    /// The mesh's services as the stores have them now.
    pub fn services(&self) -> Vec<Service> {
        endpoints::services(
            &self.services.store.state(),
            &self.slices.store.state(),
            &self.pods.store.state(),
        )
    }
}

/// The API of kind `K` in `namespace`, or in all namespaces.
fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}
