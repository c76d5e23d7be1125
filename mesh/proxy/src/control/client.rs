//! The connect and reconnect loop: one stream at a time, for as long as the proxy runs.
//!
//! When a stream cannot be opened or ends, the proxy keeps serving with the last snapshot it
//! applied and tries again after a [`Backoff`] wait. The log says when the link changes (lost,
//! back), not at every attempt: a control plane down for an hour is one warning, not hundreds.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::register::Identity;
use super::session;
use crate::Proxy;
use crate::state;

/// Keep a stream open to the control plane at `url` until `shutdown`. `inbound` is the bound
/// inbound listener, the address this workload registers with.
pub async fn run(
    proxy: Arc<Proxy>,
    url: String,
    inbound: Option<SocketAddr>,
    shutdown: CancellationToken,
) {
    let identity = match Identity::new(&proxy.settings, inbound) {
        Ok(identity) => identity,
        Err(error) => {
            // `start` checks this before binding; a caller of `run_with` may not have.
            tracing::error!("{error}; not connecting to the control plane");
            state::update(&proxy.state, |s| s.control.last_error = Some(error.clone()));
            return;
        }
    };
    let mut backoff = Backoff::default();
    // What the log last said went wrong, so the same failure again is not said again.
    let mut said: Option<String> = None;
    loop {
        let ended = tokio::select! {
            () = shutdown.cancelled() => return,
            ended = session::run(&proxy, &url, &identity) => ended,
        };
        if ended.connected {
            said = None;
        }
        if ended.delivered {
            backoff.reset();
        }
        state::update(&proxy.state, |s| {
            s.control.connected = false;
            s.control.last_error = Some(ended.why.clone());
        });
        if said.as_deref() == Some(ended.why.as_str()) {
            tracing::debug!(url, why = %ended.why, "control plane still unreachable");
        } else {
            tracing::warn!(
                url,
                why = %ended.why,
                "no stream to the control plane; reconnecting with back-off (the last snapshot, \
                 if any, stays in force)"
            );
            said = Some(ended.why);
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff.next_wait()) => {}
        }
    }
}
