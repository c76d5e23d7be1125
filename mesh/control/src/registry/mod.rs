//! The registry: the proxies connected now, what each said it is, and where each stands.
//!
//! In Istio, istiod learns the workloads from Kubernetes (Pods, EndpointSlices). Here the
//! proxies tell it themselves: each stream starts with a `Register` ([`Registration`]), and
//! the registration lives exactly as long as its stream. The services of the mesh are the
//! registrations that name a service and an address, grouped by service ([`Registry::services`]).
//!
//! A proxy id is unique. A second stream with the same id replaces the first (a proxy that
//! reconnects before the control plane noticed its old connection died): the old stream is
//! told through its [`Lease::replaced`] token, and ending it no longer removes anything, since
//! every change checks that the entry still belongs to the caller's stream.

pub mod registration;
pub mod sync;

pub use registration::{InvalidRegister, Registration};
pub use sync::SyncState;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use mesh_api::v1::{Endpoint, ProxyState, Service, Workload};
use tokio_util::sync::CancellationToken;

/// One stream's hold on its proxy id.
#[derive(Debug, Clone)]
pub struct Lease {
    pub proxy_id: String,
    /// Which stream holds it: a number never reused.
    stream: u64,
    /// Cancelled when a newer stream takes the id.
    pub replaced: CancellationToken,
}

/// Refused: `max_proxies` streams are connected already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{max} proxies are connected, the most this control plane takes (--max-proxies)")]
pub struct Full {
    pub max: usize,
}

/// A connected proxy.
#[derive(Debug)]
struct Entry {
    stream: u64,
    registration: Registration,
    sync: SyncState,
    replaced: CancellationToken,
}

/// The connected proxies, by id.
#[derive(Debug)]
pub struct Registry {
    entries: Mutex<HashMap<String, Entry>>,
    next_stream: AtomicU64,
    max_proxies: usize,
}

impl Registry {
    pub fn new(max_proxies: usize) -> Registry {
        Registry {
            entries: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(1),
            max_proxies,
        }
    }

    /// Adds the proxy of a new stream. Returns its lease, and whether it replaced a stream
    /// with the same id (which does not count against the limit).
    pub fn register(&self, registration: Registration) -> Result<(Lease, bool), Full> {
        let mut entries = self.lock();
        let replacing = entries.get(&registration.proxy_id);
        if replacing.is_none() && entries.len() >= self.max_proxies {
            return Err(Full {
                max: self.max_proxies,
            });
        }
        if let Some(old) = replacing {
            old.replaced.cancel();
        }
        let lease = Lease {
            proxy_id: registration.proxy_id.clone(),
            stream: self.next_stream.fetch_add(1, Ordering::Relaxed),
            replaced: CancellationToken::new(),
        };
        let entry = Entry {
            stream: lease.stream,
            registration,
            sync: SyncState::default(),
            replaced: lease.replaced.clone(),
        };
        let replaced = entries.insert(lease.proxy_id.clone(), entry).is_some();
        Ok((lease, replaced))
    }

    /// A `Register` sent again on the same stream. True when the registration changed.
    pub fn update(&self, lease: &Lease, registration: Registration) -> bool {
        let mut entries = self.lock();
        match entries.get_mut(&lease.proxy_id) {
            Some(entry) if entry.stream == lease.stream && entry.registration != registration => {
                entry.registration = registration;
                true
            }
            _ => false,
        }
    }

    /// Changes the sync state of the lease's proxy (nothing if the lease was replaced).
    pub fn update_sync(&self, lease: &Lease, change: impl FnOnce(&mut SyncState)) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&lease.proxy_id)
            && entry.stream == lease.stream
        {
            change(&mut entry.sync);
        }
    }

    /// The lease's stream ended. True when that removed the proxy (false if it was replaced).
    pub fn remove(&self, lease: &Lease) -> bool {
        let mut entries = self.lock();
        let owned = entries
            .get(&lease.proxy_id)
            .is_some_and(|entry| entry.stream == lease.stream);
        if owned {
            entries.remove(&lease.proxy_id);
        }
        owned
    }

    /// How many proxies are connected.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no proxy is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The mesh's services, sorted by name, each with its endpoints sorted by address.
    pub fn services(&self) -> Vec<Service> {
        let entries = self.lock();
        let mut by_service: BTreeMap<&str, Vec<(std::net::SocketAddr, Endpoint)>> = BTreeMap::new();
        for entry in entries.values() {
            let registration = &entry.registration;
            let Some(address) = registration.address.filter(|_| registration.is_endpoint()) else {
                continue;
            };
            let endpoint = Endpoint {
                address: address.to_string(),
                labels: registration.labels.clone().into_iter().collect(),
                proxy_id: registration.proxy_id.clone(),
            };
            by_service
                .entry(&registration.service)
                .or_default()
                .push((address, endpoint));
        }
        by_service
            .into_iter()
            .map(|(name, mut endpoints)| {
                endpoints
                    .sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.proxy_id.cmp(&y.proxy_id)));
                Service {
                    name: name.to_owned(),
                    endpoints: endpoints.into_iter().map(|(_, e)| e).collect(),
                }
            })
            .collect()
    }

    /// Every connected proxy's workload, in `cluster`, sorted by proxy id.
    pub fn workloads(&self, cluster: &str) -> Vec<Workload> {
        let entries = self.lock();
        let mut workloads: Vec<Workload> = entries
            .values()
            .map(|entry| {
                let registration = &entry.registration;
                Workload {
                    proxy_id: registration.proxy_id.clone(),
                    name: registration.workload.clone(),
                    namespace: registration.namespace.clone(),
                    service_account: registration.service_account.clone(),
                    labels: registration.labels.clone().into_iter().collect(),
                    cluster: cluster.to_owned(),
                }
            })
            .collect();
        workloads.sort_by(|a, b| a.proxy_id.cmp(&b.proxy_id));
        workloads
    }

    /// Every connected proxy and where it stands, sorted by id.
    pub fn states(&self) -> Vec<ProxyState> {
        let entries = self.lock();
        let mut states: Vec<ProxyState> = entries
            .values()
            .map(|entry| ProxyState {
                proxy_id: entry.registration.proxy_id.clone(),
                service: entry.registration.service.clone(),
                address: entry
                    .registration
                    .address
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                sent_version: entry.sync.sent_version.clone(),
                acked_version: entry.sync.acked_version.clone(),
                nacked_version: entry.sync.nacked_version.clone(),
                nack_error: entry.sync.nack_error.clone(),
                acked_config_version: entry.sync.acked_config_version.clone(),
            })
            .collect();
        states.sort_by(|a, b| a.proxy_id.cmp(&b.proxy_id));
        states
    }

    /// The map, even if a thread panicked while holding it: every change above leaves it whole.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(id: &str, service: &str, address: &str) -> Registration {
        Registration {
            proxy_id: id.to_owned(),
            service: service.to_owned(),
            namespace: "default".to_owned(),
            service_account: String::new(),
            labels: BTreeMap::from([("version".to_owned(), id.to_owned())]),
            address: address.parse().ok(),
            workload: id.to_owned(),
        }
    }

    #[test]
    fn services_group_the_endpoints_sorted_and_skip_those_without_address() {
        let registry = Registry::new(10);
        for (id, service, address) in [
            ("reviews-v2", "reviews", "127.0.0.1:9002"),
            ("reviews-v1", "reviews", "127.0.0.1:9001"),
            ("ratings-v1", "ratings", ""),
            ("gateway", "", "127.0.0.1:8080"),
        ] {
            registry
                .register(registration(id, service, address))
                .expect("room");
        }
        let services = registry.services();
        assert_eq!(services.len(), 1);
        assert_eq!(services[0].name, "reviews");
        let ids: Vec<&str> = services[0]
            .endpoints
            .iter()
            .map(|e| e.proxy_id.as_str())
            .collect();
        assert_eq!(ids, ["reviews-v1", "reviews-v2"]);
        // Every proxy is a workload, the gateway and the one without an address too.
        let workloads = registry.workloads("Kubernetes");
        let names: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["gateway", "ratings-v1", "reviews-v1", "reviews-v2"]);
        assert!(workloads.iter().all(|w| w.cluster == "Kubernetes"));
    }

    #[test]
    fn a_newer_stream_replaces_the_older_whose_end_then_removes_nothing() {
        let registry = Registry::new(1);
        let (old, _) = registry
            .register(registration("a", "s", "127.0.0.1:1"))
            .expect("room");
        let (new, replaced) = registry
            .register(registration("a", "s", "127.0.0.1:2"))
            .expect("a replacement needs no room");
        assert!(replaced && old.replaced.is_cancelled());
        assert!(!registry.remove(&old));
        assert_eq!(registry.len(), 1);
        assert!(matches!(
            registry.register(registration("b", "s", "127.0.0.1:3")),
            Err(Full { max: 1 })
        ));
        assert!(registry.remove(&new));
        assert!(registry.is_empty());
    }
}
