//! Who this proxy is, as it tells the control plane on every new stream (a `Register`), and
//! where peers reach its workload.
//!
//! The identity comes from the command line once; the address can change: with
//! `--app-addr-file` the application is known only once it listens, and until then the proxy
//! registers with no address (the control plane knows the workload but sends it no traffic).
//! The session sends a new `Register` on the same stream when the address changes.

use std::collections::HashMap;
use std::net::SocketAddr;

use mesh_api::v1::{ProxyMessage, Register, proxy_message};

use crate::Proxy;
use crate::settings::Settings;

/// The parts of a `Register` that do not change while the proxy runs.
#[derive(Debug, Clone)]
pub struct Identity {
    pub proxy_id: String,
    service: String,
    namespace: String,
    service_account: String,
    labels: HashMap<String, String>,
    /// The inbound listener's bound address, with `--inbound`.
    inbound: Option<SocketAddr>,
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
            inbound,
        })
    }

    /// Where peers send requests for this workload, as `IP:PORT`: the inbound listener when
    /// there is one, else the application; empty while the application's address is not known.
    pub fn address(&self, proxy: &Proxy) -> String {
        match proxy.state.load().app {
            Some(app) => self.inbound.unwrap_or(app).to_string(),
            None => String::new(),
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
            })),
        }
    }
}
