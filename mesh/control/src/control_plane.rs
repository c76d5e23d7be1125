//! The state every part of the control plane shares: the config in force, the registry, the
//! newest snapshot, and the "something changed" signal the publisher waits on.
//!
//! The sources (the folder watcher or the Kubernetes watches, the streams' registrations) only
//! record what changed and call [`ControlPlane::changed`]; the publisher alone publishes snapshots, after the
//! debounce. The newest snapshot sits in a `tokio::sync::watch` channel: every stream holds a
//! receiver and sends the newest value when it can, so a slow proxy skips the versions it was
//! too slow for instead of queueing them (memory per stream stays bounded).
//!
//! Every change also counts one *generation*. A snapshot remembers the generation it was built
//! at, so a new stream, whose first snapshot must already hold its own registration, can tell
//! whether the newest snapshot built does: in a burst of a thousand proxies connecting, one
//! build then serves every stream that registered before it, instead of one build per stream.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mesh_api::v1::{Service, Workload};
use tokio::sync::{Notify, watch};

use crate::config_source::ConfigState;
use crate::metrics::Metrics;
use crate::registry::{Full, Lease, Registration, Registry};
use crate::services;
use crate::snapshot::{self, Published};

/// Shared by the streams, the watcher, the publisher and the admin endpoints.
#[derive(Debug)]
pub struct ControlPlane {
    /// The namespace of registrations that name none (`--namespace`).
    pub namespace: String,
    /// The cluster the registered workloads run in (`--cluster`).
    cluster: String,
    /// The snapshots' `peer_key`, made at start.
    peer_key: Vec<u8>,
    pub registry: Registry,
    pub metrics: Metrics,
    config: Mutex<Arc<ConfigState>>,
    /// The services and workloads a discovery source found (Kubernetes), beside the
    /// registrations.
    discovered: Mutex<Arc<Discovered>>,
    /// The newest snapshot published (after the debounce), which every stream follows.
    snapshots: watch::Sender<Arc<Published>>,
    /// The newest snapshot built, published or not, and the generation it was built at.
    newest: Mutex<Built>,
    /// Taken by a stream that builds its first snapshot (see `snapshot_since`).
    build_turn: tokio::sync::Mutex<()>,
    /// How many changes there have been: [`changed`](Self::changed) counts one.
    generation: AtomicU64,
    changes: Notify,
    ready: AtomicBool,
}

impl ControlPlane {
    /// A control plane with no config and no proxy yet, not ready; its registrations count in
    /// `namespace` (when they name none) and `cluster`, and its snapshots carry `peer_key`.
    pub fn new(
        namespace: String,
        max_proxies: usize,
        cluster: String,
        peer_key: Vec<u8>,
    ) -> ControlPlane {
        let config = ConfigState::new(Vec::new(), Vec::new());
        let mesh = snapshot::Mesh {
            peer_key: peer_key.clone(),
            ..snapshot::Mesh::default()
        };
        let first = Arc::new(Published::new(snapshot::build(&config, mesh)));
        ControlPlane {
            namespace,
            cluster,
            peer_key,
            registry: Registry::new(max_proxies),
            metrics: Metrics::new(),
            config: Mutex::new(Arc::new(config)),
            discovered: Mutex::new(Arc::new(Discovered::default())),
            snapshots: watch::Sender::new(Arc::clone(&first)),
            newest: Mutex::new(Built {
                generation: 0,
                published: first,
            }),
            build_turn: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            changes: Notify::new(),
            ready: AtomicBool::new(false),
        }
    }

    /// Something the snapshot is made of changed: the publisher will push after the debounce.
    /// Call it after the change is made, so that a snapshot built at the new generation holds it.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        // One stored permit at most: many changes before the publisher looks are one change.
        self.changes.notify_one();
    }

    /// Waits for the next [`changed`](Self::changed) (or returns at once if one is pending).
    pub async fn next_change(&self) {
        self.changes.notified().await;
    }

    /// The cluster the workloads run in (`--cluster`).
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The config in force now.
    pub fn config(&self) -> Arc<ConfigState> {
        self.config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A new read of the config (the folder, or the Kubernetes objects).
    ///
    /// Only a new config version is a change for the snapshot: the folder watcher's read of a
    /// file the Config API has just written and loaded finds the same files, and must not hold
    /// up the push of that very change by restarting the debounce.
    pub fn set_config(&self, state: ConfigState) {
        let previous = self.config().config_version.clone();
        let new_version = state.config_version != previous;
        if new_version {
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
        if new_version {
            self.changed();
        }
    }

    /// What a discovery source found now; it joins the registrations in the snapshot.
    pub fn set_discovered(&self, found: Discovered) {
        let mut discovered = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if **discovered != found {
            *discovered = Arc::new(found);
            drop(discovered);
            self.changed();
        }
    }

    /// The mesh now: the registrations and what discovery found, merged, and the peer key.
    fn mesh(&self) -> snapshot::Mesh {
        let discovered = Arc::clone(
            &self
                .discovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut workloads = self.registry.workloads(&self.cluster);
        workloads.extend(discovered.workloads.iter().cloned());
        workloads.sort_by(|a, b| a.proxy_id.cmp(&b.proxy_id));
        workloads.dedup_by(|a, b| a.proxy_id == b.proxy_id);
        snapshot::Mesh {
            services: services::merge(self.registry.services(), &discovered.services),
            workloads,
            peer_key: self.peer_key.clone(),
        }
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

    /// The newest snapshot published.
    pub fn snapshot(&self) -> Arc<Published> {
        self.snapshots.borrow().clone()
    }

    /// A receiver of the published snapshots, for a new stream.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        self.snapshots.subscribe()
    }

    /// How many changes there have been so far.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A snapshot that holds every change up to `generation` (a stream's first message, see
    /// `discovery::outbound`): the newest one built if it is recent enough, else a new build,
    /// not published (the publisher's debounce still decides when every stream gets it).
    ///
    /// One stream builds at a time; the others wait here without holding a thread, and most
    /// find, once it is their turn, that the build they waited for already holds them. In a
    /// burst of connections each build thus covers every stream that registered while the
    /// previous one ran, instead of one build per stream.
    pub async fn snapshot_since(&self, generation: u64) -> Arc<Published> {
        if let Some(newest) = self.newest_since(generation) {
            return newest;
        }
        let _turn = self.build_turn.lock().await;
        if let Some(newest) = self.newest_since(generation) {
            return newest;
        }
        self.build()
    }

    /// Builds the snapshot of what is in force now (unless the newest built is); publishes it
    /// if its version is new. Returns it when it was published.
    pub fn publish(&self) -> Option<Arc<Published>> {
        let built = self
            .newest_since(self.generation())
            .unwrap_or_else(|| self.build());
        if built.version() == self.snapshots.borrow().version() {
            return None;
        }
        self.snapshots.send_replace(Arc::clone(&built));
        Some(built)
    }

    /// The newest snapshot built, if it holds every change up to `generation`.
    fn newest_since(&self, generation: u64) -> Option<Arc<Published>> {
        let newest = self.newest();
        (newest.generation >= generation).then(|| Arc::clone(&newest.published))
    }

    /// Builds the snapshot of what is in force now, keeps it as the newest, and returns it.
    fn build(&self) -> Arc<Published> {
        // Read before the state: whatever the build reads is at least this recent.
        let generation = self.generation();
        let built = snapshot::build(&self.config(), self.mesh());
        let previous = Arc::clone(&self.newest().published);
        // The same content as the newest: keep its bytes rather than encode them again.
        let published = if built.version == previous.version() {
            previous
        } else {
            Arc::new(Published::new(built))
        };
        let mut newest = self.newest();
        // Another build may have finished meanwhile with a newer state: keep the newer.
        if generation >= newest.generation {
            *newest = Built {
                generation,
                published: Arc::clone(&published),
            };
        }
        published
    }

    fn newest(&self) -> MutexGuard<'_, Built> {
        self.newest.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True once the first read of the config (the folder, or the Kubernetes lists) is in force.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

/// What a discovery source (Kubernetes) found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovered {
    /// Sorted by name, each endpoint's address `IP:PORT`.
    pub services: Vec<Service>,
    /// The Pods' workloads, sorted by proxy id.
    pub workloads: Vec<Workload>,
}

/// The newest snapshot built, and the generation it was built at.
#[derive(Debug)]
struct Built {
    generation: u64,
    published: Arc<Published>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn register(control: &ControlPlane, id: &str, port: u16) {
        let registration = Registration {
            proxy_id: id.to_owned(),
            service: "reviews".to_owned(),
            namespace: "default".to_owned(),
            service_account: String::new(),
            labels: BTreeMap::new(),
            address: Some(([127, 0, 0, 1], port).into()),
            workload: id.to_owned(),
        };
        control.connect(registration).expect("room");
    }

    fn endpoint_ids(published: &Published) -> Vec<&str> {
        let services = &published.snapshot.services;
        services
            .iter()
            .flat_map(|s| s.endpoints.iter().map(|e| e.proxy_id.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn one_build_serves_every_stream_registered_before_it_and_the_publisher_too() {
        let control = ControlPlane::new(
            "default".to_owned(),
            10,
            "Kubernetes".to_owned(),
            vec![1; 32],
        );
        register(&control, "a", 9001);
        let a_registered = control.generation();
        register(&control, "b", 9002);
        let b_registered = control.generation();

        let for_b = control.snapshot_since(b_registered).await;
        assert_eq!(endpoint_ids(&for_b), ["a", "b"]);
        let for_a = control.snapshot_since(a_registered).await;
        assert!(Arc::ptr_eq(&for_a, &for_b), "a newer build holds a too");
        let pushed = control.publish().expect("a new version to publish");
        assert!(
            Arc::ptr_eq(&pushed, &for_b),
            "nothing changed since: no build"
        );

        register(&control, "c", 9003);
        let for_c = control.snapshot_since(control.generation()).await;
        assert_eq!(endpoint_ids(&for_c), ["a", "b", "c"]);
        assert_eq!(
            control.snapshot().version(),
            for_b.version(),
            "a stream's first snapshot is not published"
        );
    }
}
