//! A snapshot from the control plane turned into the proxy's state, or refused.
//!
//! The config files go through the same loader and checks as files read from `--config-dir`
//! (`mesh_config::load_str`, then `validate::check_set`), so a snapshot means exactly what the
//! files mean, with the same `file:line:col` diagnostics. The endpoints become a [`Registry`]
//! as the registry file would, each named in metrics by its workload in the snapshot's table;
//! the peer key and that table become the signed names of `crate::peer`. Only when both build is anything swapped in: route table and
//! registry together, in one update, so no request sees the new routes with the old endpoints.
//! Otherwise the answer is a NACK that says why, and the last good snapshot stays in force.
//!
//! Loading and compiling run on tokio's blocking pool: with `--workers 1` the async thread also
//! serves every request, and a large config takes long enough to build that they would wait.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use mesh_api::v1::{self, Ack, Nack, ProxyMessage, proxy_message};
use mesh_config::Loaded;

use crate::Proxy;
use crate::metrics::{WorkloadId, WorkloadLabels, intern};
use crate::peer::Peers;
use crate::registry::{Endpoint, Registry, Service};
use crate::state::{self, Routes};

/// What a snapshot built into, ready to swap in.
struct Built {
    routes: Arc<Routes>,
    registry: Arc<Registry>,
    peers: Arc<Peers>,
    /// Every diagnostic (warnings too), for `/config_dump`.
    diagnostics: Vec<String>,
}

/// Why a snapshot was refused.
enum Refused {
    /// The config has errors: every diagnostic, and the errors alone for the NACK.
    Config {
        diagnostics: Vec<String>,
        errors: Vec<String>,
    },
    /// An endpoint does not parse.
    Registry(String),
    /// Building stopped (a panic in the loader): a bug, said as such.
    Failed(String),
}

impl Refused {
    /// The NACK's `error`: the errors, one per line.
    fn message(&self) -> String {
        match self {
            Refused::Config { errors, .. } => errors.join("\n"),
            Refused::Registry(error) | Refused::Failed(error) => error.clone(),
        }
    }
}

/// Build `snapshot`, swap it in if it builds, and return the answer for the control plane.
pub async fn apply(proxy: &Proxy, snapshot: v1::Snapshot) -> ProxyMessage {
    let version = snapshot.version.clone();
    // A new stream starts with the current snapshot, often the one in force already: the same
    // version is the same content, so there is nothing to build (and the live counters of the
    // endpoints are kept).
    if proxy.state.load().control.snapshot_version.as_ref() == Some(&version) {
        tracing::debug!(%version, "snapshot already in force");
        return ack(version);
    }
    let config_version = snapshot.config_version.clone();
    let namespace = proxy.settings.namespace.clone();
    let own_id = proxy.settings.proxy_id().ok();
    let built = tokio::task::spawn_blocking(move || build(&snapshot, &namespace, own_id))
        .await
        .unwrap_or_else(|error| Err(Refused::Failed(format!("building failed: {error}"))));
    proxy.stats.config_reloads.increment();
    proxy.stats.registry_reloads.increment();
    match built {
        Ok(built) => {
            tracing::info!(
                %version,
                %config_version,
                files = built.routes.files.len(),
                services = built.registry.services.len(),
                "snapshot from the control plane applied"
            );
            state::update(&proxy.state, |s| {
                s.routes = Some(built.routes.clone());
                s.registry = Some(built.registry.clone());
                s.peers = Some(built.peers.clone());
                s.diagnostics = built.diagnostics.clone();
                s.config_rejected = false;
                s.config_version = Some(config_version.clone());
                s.registry_error = None;
                s.control.snapshot_version = Some(version.clone());
                s.control.last_error = None;
            });
            ack(version)
        }
        Err(refused) => {
            let error = refused.message();
            tracing::error!(
                %version,
                "snapshot from the control plane refused; the last good one stays in force:\n\
                 {error}"
            );
            state::update(&proxy.state, |s| {
                match &refused {
                    // As a rejected config directory shows in `/config_dump`.
                    Refused::Config { diagnostics, .. } => {
                        s.diagnostics = diagnostics.clone();
                        s.config_rejected = true;
                        s.config_version = Some(config_version.clone());
                    }
                    Refused::Registry(error) => s.registry_error = Some(error.clone()),
                    Refused::Failed(_) => {}
                }
                s.control.last_error = Some(format!("snapshot {version} refused: {error}"));
            });
            ProxyMessage {
                kind: Some(proxy_message::Kind::Nack(Nack { version, error })),
            }
        }
    }
}

fn ack(version: String) -> ProxyMessage {
    ProxyMessage {
        kind: Some(proxy_message::Kind::Ack(Ack { version })),
    }
}

/// Load, check and compile the config, and build the registry and the peers' names (on the
/// blocking pool).
fn build(
    snapshot: &v1::Snapshot,
    namespace: &str,
    own_id: Option<String>,
) -> Result<Built, Refused> {
    let mut loaded = Loaded::default();
    for file in &snapshot.config {
        let one = mesh_config::load_str(&file.name, &file.yaml);
        loaded.resources.extend(one.resources);
        loaded.diagnostics.extend(one.diagnostics);
    }
    loaded
        .diagnostics
        .extend(mesh_config::validate::check_set(&loaded.resources));
    let diagnostics: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    if loaded.has_errors() {
        let errors = loaded.errors().map(ToString::to_string).collect();
        return Err(Refused::Config {
            diagnostics,
            errors,
        });
    }
    let workloads = workloads(&snapshot.workloads);
    let registry =
        registry(&snapshot.services, &workloads, namespace).map_err(Refused::Registry)?;
    // No key, no proving: the proxy sends no header and believes none.
    let peers = if snapshot.peer_key.is_empty() {
        Peers::default()
    } else {
        let known = workloads.iter().map(|(id, w)| (id.as_str(), *w));
        Peers::new(&snapshot.peer_key, own_id.as_deref(), known)
    };
    let files = snapshot
        .config
        .iter()
        .map(|file| PathBuf::from(&file.name))
        .collect();
    let table = mesh_config::compile_in(&loaded.resources, namespace);
    Ok(Built {
        routes: Arc::new(Routes::new(table, files)),
        registry: Arc::new(registry),
        peers: Arc::new(peers),
        diagnostics,
    })
}

/// The snapshot's workloads by proxy id, each as the id of its metric labels.
fn workloads(workloads: &[v1::Workload]) -> HashMap<String, WorkloadId> {
    workloads
        .iter()
        .map(|w| {
            let labels = w.labels.clone().into_iter().collect();
            let labels = WorkloadLabels::new(&w.name, &w.namespace, &w.cluster, &labels);
            (w.proxy_id.clone(), intern::workload(labels))
        })
        .collect()
}

/// The snapshot's services as the registry file would give them, each endpoint with its
/// workload's labels when the workload table has its proxy.
fn registry(
    services: &[v1::Service],
    workloads: &HashMap<String, WorkloadId>,
    namespace: &str,
) -> Result<Registry, String> {
    let services = services
        .iter()
        .map(|service| {
            let endpoints = service
                .endpoints
                .iter()
                .map(|endpoint| {
                    let address: SocketAddr = endpoint.address.parse().map_err(|error| {
                        format!(
                            "service `{}`: endpoint `{}` (proxy `{}`) is not IP:PORT: {error}",
                            service.name, endpoint.address, endpoint.proxy_id
                        )
                    })?;
                    let labels = endpoint.labels.clone().into_iter().collect();
                    let mut built = Endpoint::new(address, labels);
                    if let Some(workload) = workloads.get(&endpoint.proxy_id) {
                        built.workload = *workload;
                    }
                    Ok(built)
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Service {
                name: service.name.clone(),
                endpoints,
                next: AtomicUsize::new(0),
                qualified: String::new(),
                load: Default::default(),
                metric: Default::default(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut registry = Registry { services };
    registry.prepare(namespace)?;
    Ok(registry)
}
