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

use serde::{Deserialize, Serialize};

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
}

impl Endpoint {
    /// True when every label of the selector is on this endpoint (a subset's `labels`).
    pub fn has_labels(&self, selector: &BTreeMap<String, String>) -> bool {
        selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

impl Registry {
    /// Read and parse the file; the error says what is wrong, for the log and `/config_dump`.
    pub fn load(path: &Path) -> Result<Registry, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the registry: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: error: registry: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }

    /// The service a qualified host (`reviews.default.svc.cluster.local`) stands for.
    pub fn service(&self, host: &str, namespace: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| mesh_config::host::qualify(&s.name, namespace) == host)
    }
}
