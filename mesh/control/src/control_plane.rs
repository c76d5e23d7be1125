//! The state every part of the control plane shares: the config in force, the registry, the
//! newest snapshot, and the "something changed" signal the publisher waits on.
//!
//! The sources (the folder watcher or the Kubernetes watches, the streams' registrations) only
//! record what changed and call [`ControlPlane::changed`]; the publisher alone builds and
//! publishes snapshots, after the debounce. The newest snapshot sits in a `tokio::sync::watch`
//! channel: every stream holds a receiver and sends the newest value when it can, so a slow
//! proxy skips the versions it was too slow for instead of queueing them (memory per stream
//! stays bounded).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mesh_api::v1::{Service, Snapshot};
use tokio::sync::{Notify, watch};

use crate::config_source::ConfigState;
use crate::metrics::Metrics;
use crate::registry::{Full, Lease, Registration, Registry};
use crate::{services, snapshot};

/// Shared by the streams, the watcher, the publisher and the admin endpoints.
#[derive(Debug)]
pub struct ControlPlane {
    /// The namespace of registrations that name none (`--namespace`).
    pub namespace: String,
    pub registry: Registry,
    pub metrics: Metrics,
    config: Mutex<Arc<ConfigState>>,
    /// The workloads a discovery source found (Kubernetes), beside the registrations.
    discovered: Mutex<Arc<Vec<Service>>>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    changes: Notify,
    ready: AtomicBool,
}

impl ControlPlane {
    /// A control plane with no config and no proxy yet, not ready.
    pub fn new(namespace: String, max_proxies: usize) -> ControlPlane {
        let config = ConfigState::new(Vec::new(), Vec::new());
        let first = snapshot::build(&config, Vec::new());
        ControlPlane {
            namespace,
            registry: Registry::new(max_proxies),
            metrics: Metrics::new(),
            config: Mutex::new(Arc::new(config)),
            discovered: Mutex::new(Arc::new(Vec::new())),
            snapshots: watch::Sender::new(Arc::new(first)),
            changes: Notify::new(),
            ready: AtomicBool::new(false),
        }
    }

    /// Something the snapshot is made of changed: the publisher will push after the debounce.
    pub fn changed(&self) {
        // One stored permit at most: many changes before the publisher looks are one change.
        self.changes.notify_one();
    }

    /// Waits for the next [`changed`](Self::changed) (or returns at once if one is pending).
    pub async fn next_change(&self) {
        self.changes.notified().await;
    }

    /// The config in force now.
    pub fn config(&self) -> Arc<ConfigState> {
        self.config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A new read of the config (the folder, or the Kubernetes objects).
    pub fn set_config(&self, state: ConfigState) {
        let previous = self.config().config_version.clone();
        if state.config_version != previous {
            tracing::info!(
                "config applied: {} files, version {}",
                state.files.len(),
                state.config_version
            );
        }
        self.metrics
            .config_refused_files
            .set(state.refused.len() as i64);
        *self.config.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(state);
        self.changed();
    }

    /// A new list of the services a discovery source found (sorted by name, each endpoint's
    /// address `IP:PORT`); they join the registrations in the snapshot.
    pub fn set_discovered(&self, services: Vec<Service>) {
        let mut discovered = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if **discovered != services {
            *discovered = Arc::new(services);
            drop(discovered);
            self.changed();
        }
    }

    /// The mesh's services now: the registrations and what discovery found, merged.
    fn services(&self) -> Vec<Service> {
        let discovered = Arc::clone(
            &self
                .discovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        services::merge(self.registry.services(), &discovered)
    }

    /// Adds the proxy of a new stream.
    pub fn connect(&self, registration: Registration) -> Result<(Lease, bool), Full> {
        let admitted = self.registry.register(registration)?;
        self.metrics
            .connected_proxies
            .set(self.registry.len() as i64);
        self.changed();
        Ok(admitted)
    }

    /// A stream ended: its proxy leaves the mesh (unless a newer stream took its id).
    pub fn disconnect(&self, lease: &Lease) -> bool {
        let removed = self.registry.remove(lease);
        if removed {
            self.metrics
                .connected_proxies
                .set(self.registry.len() as i64);
            self.changed();
        }
        removed
    }

    /// The newest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A receiver of the snapshots, for a new stream.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.subscribe()
    }

    /// The snapshot of what is in force at this instant, published or not yet (a stream's
    /// first message, see `discovery::outbound`).
    pub fn snapshot_now(&self) -> Arc<Snapshot> {
        let built = snapshot::build(&self.config(), self.services());
        let published = self.snapshot();
        if built.version == published.version {
            published
        } else {
            Arc::new(built)
        }
    }

    /// Builds the snapshot of what is in force now; publishes it if its version is new.
    /// Returns it when it was published.
    pub fn publish(&self) -> Option<Arc<Snapshot>> {
        let built = snapshot::build(&self.config(), self.services());
        if built.version == self.snapshots.borrow().version {
            return None;
        }
        let built = Arc::new(built);
        self.snapshots.send_replace(Arc::clone(&built));
        Some(built)
    }

    /// True once the first read of the config (the folder, or the Kubernetes lists) is in force.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}
