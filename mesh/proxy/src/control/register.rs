//! Who this proxy is, as it tells the control plane on every new stream (a `Register`), and
//! where peers reach its workload.
//!
//! The identity comes from the command line once; the address can change: with
//! `--app-addr-file` the application is known only once it listens, and until then the proxy
//! registers with no address (the control plane knows the workload but sends it no traffic).
//! The session sends a new `Register` on the same stream when the address changes.
//!
//! The address registered is the one peers can reach: `--advertise-address` when given (its
//! host resolved once), else the listener's; a listener on 0.0.0.0 (a container) is not an
//! address a peer can use, so then the machine's host name is resolved instead, which Docker
//! maps to the container's address in /etc/hosts.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use mesh_api::v1::{ProxyMessage, Register, proxy_message};

use tokio::sync::OnceCell;

use crate::Proxy;
use crate::settings::{HostPort, Settings};

/// The parts of a `Register` that do not change while the proxy runs.
#[derive(Debug, Clone)]
pub struct Identity {
    pub proxy_id: String,
    service: String,
    namespace: String,
    service_account: String,
    labels: HashMap<String, String>,
    /// `--workload`, or its default from the labels.
    workload: String,
    /// The inbound listener's bound address, with `--inbound`.
    inbound: Option<SocketAddr>,
    /// `--advertise-address`.
    advertise: Option<HostPort>,
    /// The IP of the advertised host (or of this machine's host name), looked up once; `None`
    /// when the lookup failed, and the listener's own address is registered.
    resolved: OnceCell<Option<IpAddr>>,
}

impl Identity {
    /// From the command line and the inbound listener (bound, so its real port is known). The
    /// error says which flag is missing.
    pub fn new(settings: &Settings, inbound: Option<SocketAddr>) -> Result<Identity, String> {
        Ok(Identity {
            proxy_id: settings.proxy_id()?,
            service: settings.service(),
            namespace: settings.namespace.clone(),
            service_account: settings.service_account.clone().unwrap_or_default(),
            // Later labels replace earlier ones with the same key, as everywhere.
            labels: settings.labels.iter().cloned().collect(),
            workload: settings.workload(),
            inbound,
            advertise: settings.advertise_address.clone(),
            resolved: OnceCell::new(),
        })
    }

    /// Where peers send requests for this workload, as `IP:PORT`: `--advertise-address`, else
    /// the inbound listener when there is one, else the application (0.0.0.0 replaced by the
    /// host name's address); empty while the application's address is not known.
    pub async fn address(&self, proxy: &Proxy) -> String {
        let Some(app) = proxy.state.load().app else {
            return String::new();
        };
        let local = self.inbound.unwrap_or(app);
        let (host, port) = match &self.advertise {
            Some(given) => (given.host.clone(), given.port),
            None if local.ip().is_unspecified() => match own_host_name() {
                Some(name) => (name, local.port()),
                None => return local.to_string(),
            },
            None => return local.to_string(),
        };
        let resolved = self
            .resolved
            .get_or_init(|| async {
                match netresolve::Resolver::system().lookup_one(&host, port).await {
                    Ok(found) => Some(found.ip()),
                    Err(error) => {
                        tracing::warn!(%error, registered = %local, "cannot resolve the address to advertise");
                        None
                    }
                }
            })
            .await;
        match resolved {
            Some(ip) => SocketAddr::new(*ip, port).to_string(),
            None => local.to_string(),
        }
    }

    /// The message that opens a stream, or tells of a new address.
    pub fn register(&self, address: &str) -> ProxyMessage {
        ProxyMessage {
            kind: Some(proxy_message::Kind::Register(Register {
                proxy_id: self.proxy_id.clone(),
                service: self.service.clone(),
                namespace: self.namespace.clone(),
                service_account: self.service_account.clone(),
                labels: self.labels.clone(),
                address: address.to_owned(),
                workload: self.workload.clone(),
            })),
        }
    }
}

/// This machine's host name (the container's, in Docker), as the kernel has it.
fn own_host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_owned()).filter(|name| !name.is_empty())
}
