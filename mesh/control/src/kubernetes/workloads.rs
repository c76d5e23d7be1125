//! The workloads from the cluster: Services, EndpointSlices, and the Pods.
//!
//! Three watches keep three stores; `endpoints` turns them into the mesh's services, `pods`
//! into its workload table. Of a Pod only its metadata (labels, owners) and its service account
//! are used: the rest of its spec and its status, most of its size, are dropped as it arrives
//! (`pods::trim`).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service as KubeService};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::watch::{self, Kept};
use super::{endpoints, pods};
use crate::control_plane::Discovered;

/// The three stores.
pub struct Workloads {
    services: Kept<KubeService>,
    slices: Kept<EndpointSlice>,
    pods: Kept<Pod>,
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
            watcher(api::<Pod>(client, namespace), watch::config()).modify(pods::trim),
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

    /// The mesh's services and workloads (in `cluster`) as the stores have them now.
    pub fn discovered(&self, cluster: &str) -> Discovered {
        let pods = self.pods.store.state();
        Discovered {
            services: endpoints::services(
                &self.services.store.state(),
                &self.slices.store.state(),
                &pods,
            ),
            workloads: pods::workloads(&pods, cluster),
        }
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
