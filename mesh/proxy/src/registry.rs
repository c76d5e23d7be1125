//! The workload registry: which instances exist for each service, and their labels.
//!
//! In Kubernetes the proxy learns endpoints from the control plane; in the local stack the
//! launcher writes them to a small JSON file that the proxy re-reads when it changes:
//!
//! ```json
//! {"services": [{"name": "reviews", "endpoints": [
//!     {"address": "127.0.0.1:9102", "labels": {"app": "reviews", "version": "v1"}}]}]}
//! ```
//!
//! Subsets are not in the registry: a DestinationRule subset is a label selector, and the
//! `balance` stage keeps the endpoints whose labels contain it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicUsize;

use http::uri::Authority;
use serde::{Deserialize, Serialize};

use crate::metrics::{ServiceId, ServiceLabels, WorkloadId, WorkloadLabels, intern};

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub services: Vec<Service>,
}

/// One service, by its short name (`reviews`), with every instance of every version.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Round-robin position, shared by every subset of the service. Not part of the file.
    #[serde(skip)]
    pub next: AtomicUsize,
    /// `name` qualified in the proxy's namespace (`reviews.default.svc.cluster.local`), worked
    /// out once at load so that finding a service costs no allocation. Not part of the file.
    #[serde(skip)]
    pub qualified: String,
    /// Requests and retries in progress towards the service, for the default retry budget.
    /// Not part of the file.
    #[serde(skip)]
    pub load: crate::stage::retry_budget::Load,
    /// Its `destination_service` labels in Istio's metrics, worked out once at load. Not part
    /// of the file.
    #[serde(skip)]
    pub metric: ServiceId,
}

/// One instance: where it listens and its labels (`app`, `version`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub address: SocketAddr,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Requests in flight to this endpoint, for LEAST_REQUEST. Not part of the file.
    #[serde(skip)]
    pub active: AtomicUsize,
    /// `address` as a URI authority, made once at load (every request to the endpoint needs
    /// it). Not part of the file.
    #[serde(skip, default = "unspecified_authority")]
    pub authority: Authority,
    /// Its `destination_*` labels in Istio's metrics: from the control plane's workload table,
    /// else worked out from its labels at load. Not part of the file.
    #[serde(skip)]
    pub workload: WorkloadId,
}

fn unspecified_authority() -> Authority {
    Authority::from_static("0.0.0.0:0")
}

impl Endpoint {
    /// An endpoint made in code (tests, tools), with what loading would work out.
    pub fn new(address: SocketAddr, labels: BTreeMap<String, String>) -> Endpoint {
        Endpoint {
            address,
            labels,
            active: AtomicUsize::new(0),
            authority: Authority::try_from(address.to_string())
                .unwrap_or_else(|_| unspecified_authority()),
            workload: WorkloadId::UNKNOWN,
        }
    }

    /// True when every label of the selector is on this endpoint (a subset's `labels`).
    pub fn has_labels(&self, selector: &BTreeMap<String, String>) -> bool {
        selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

impl Registry {
    /// Read and parse the file, for a proxy in `namespace`; the error says what is wrong, for
    /// the log and `/config_dump`.
    pub fn load(path: &Path, namespace: &str) -> Result<Registry, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the registry: {e}", path.display()))?;
        let mut registry: Registry = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: error: registry: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        registry.prepare(namespace)?;
        Ok(registry)
    }

    /// Work out what requests need from each entry, once: qualified names, URI authorities,
    /// the labels of Istio's metrics. An endpoint whose workload is not known yet (none from
    /// the control plane) is named by its labels, as the control plane names a registration:
    /// `<app>-<version>`, in the proxy's namespace.
    pub fn prepare(&mut self, namespace: &str) -> Result<(), String> {
        for service in &mut self.services {
            service.qualified = mesh_config::host::qualify(&service.name, namespace);
            service.metric = intern::service(ServiceLabels::new(&service.name, &service.qualified));
            for endpoint in &mut service.endpoints {
                endpoint.authority = Authority::try_from(endpoint.address.to_string())
                    .map_err(|e| format!("registry: {}: {e}", endpoint.address))?;
                if endpoint.workload == WorkloadId::UNKNOWN {
                    let name = mesh_api::workload::default_name(&endpoint.labels, &service.name);
                    let labels = WorkloadLabels::new(
                        name.as_deref().unwrap_or_default(),
                        namespace,
                        "",
                        &endpoint.labels,
                    );
                    endpoint.workload = intern::workload(labels);
                }
            }
        }
        Ok(())
    }

    /// The service a qualified host (`reviews.default.svc.cluster.local`) stands for.
    pub fn service(&self, host: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.qualified == host)
    }
}
