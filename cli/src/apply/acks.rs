//! After a change through the control plane: wait until every proxy connected to it has ACKed
//! a snapshot of the new config version, by polling its Admin API's `ProxyStatus` (what
//! `sailkit proxy-status` shows).
//!
//! Each proxy's `acked_config_version` is the config version of the last snapshot it built and
//! put in force. A proxy that NACKed the newest snapshot, when that snapshot carries the new
//! config, refused it: the wait stops there and names it.

use std::time::{Duration, Instant};

use mesh_api::v1::admin_client::AdminClient;
use mesh_api::v1::{ProxyState, ProxyStatusRequest};
use tonic::transport::Channel;

use super::rollout::{DEADLINE, Rollout};

/// The pause between two questions.
const POLL: Duration = Duration::from_millis(100);

/// Polls until every proxy has ACKed `version`, or [`DEADLINE`] passes; `None` when no proxy
/// is connected.
pub async fn wait(
    mut admin: AdminClient<Channel>,
    version: &str,
    written: Instant,
) -> Option<Rollout> {
    loop {
        let status = match admin.proxy_status(ProxyStatusRequest {}).await {
            Ok(status) => status.into_inner(),
            Err(error) => {
                return Some(Rollout::Incomplete {
                    in_force: 0,
                    missing: vec![("sailkit-control".to_owned(), error.message().to_owned())],
                });
            }
        };
        if status.proxies.is_empty() {
            return None;
        }
        let newest_carries_it = status.config_version == version;
        if let Some(refused) = status.proxies.iter().find(|p| {
            newest_carries_it && !p.nacked_version.is_empty() && p.nacked_version == status.version
        }) {
            return Some(Rollout::Rejected {
                name: refused.proxy_id.clone(),
                diagnostics: refused.nack_error.clone(),
            });
        }
        let missing: Vec<(String, String)> = status
            .proxies
            .iter()
            .filter(|p| p.acked_config_version != version)
            .map(|p| (p.proxy_id.clone(), why_not(p)))
            .collect();
        if missing.is_empty() {
            return Some(Rollout::InForce {
                proxies: status.proxies.len(),
                took: written.elapsed(),
            });
        }
        if written.elapsed() >= DEADLINE {
            return Some(Rollout::Incomplete {
                in_force: status.proxies.len() - missing.len(),
                missing,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

fn why_not(proxy: &ProxyState) -> String {
    if proxy.acked_config_version.is_empty() {
        "no snapshot ACKed yet".to_owned()
    } else {
        format!("still on config version {}", proxy.acked_config_version)
    }
}
