//! The inbound half of a stream: what the proxy sends.
//!
//! First a `Register` ([`first_register`]), then, in a task of its own ([`read`]), ACKs and
//! NACKs of the snapshots it receives, and a new `Register` when something about it changes
//! (the application's address, once the application listens). The task owns the proxy's place
//! in the registry: whenever it ends, the proxy is removed (see [`Registered`]).

use std::sync::Arc;

use mesh_api::v1::ProxyMessage;
use mesh_api::v1::proxy_message::Kind;
use tonic::{Status, Streaming};

use super::REGISTER_WAIT;
use super::ending::Ending;
use crate::control_plane::ControlPlane;
use crate::registry::{Lease, Registration};

/// Waits for the stream's first message, which must be a valid `Register`.
pub async fn first_register(
    messages: &mut Streaming<ProxyMessage>,
    default_namespace: &str,
) -> Result<Registration, Status> {
    let first = tokio::time::timeout(REGISTER_WAIT, messages.message())
        .await
        .map_err(|_| {
            Status::deadline_exceeded(format!(
                "no Register within {} s of opening the stream",
                REGISTER_WAIT.as_secs()
            ))
        })??;
    let register = match first.and_then(|message| message.kind) {
        Some(Kind::Register(register)) => register,
        Some(Kind::Ack(_) | Kind::Nack(_)) | None => {
            return Err(Status::invalid_argument(
                "the first message on a stream must be a Register",
            ));
        }
    };
    Registration::parse(register, default_namespace)
        .map_err(|invalid| Status::invalid_argument(invalid.to_string()))
}

/// Removes the proxy from the registry when dropped: when [`read`] returns, and also if its
/// task is dropped unfinished (the runtime shutting down).
struct Registered {
    control: Arc<ControlPlane>,
    lease: Lease,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if self.control.disconnect(&self.lease) {
            tracing::info!("proxy {} disconnected", self.lease.proxy_id);
        }
    }
}

/// Reads the proxy's messages until the stream ends, then removes the proxy.
pub async fn read(
    control: Arc<ControlPlane>,
    lease: Lease,
    mut messages: Streaming<ProxyMessage>,
    ending: Arc<Ending>,
) {
    let registered = Registered { control, lease };
    loop {
        let next = tokio::select! {
            () = ending.token.cancelled() => break,
            next = messages.message() => next,
        };
        match next {
            Ok(Some(message)) => {
                if let Err(status) = handle(&registered.control, &registered.lease, message) {
                    tracing::warn!(
                        "stream of proxy {} ended: {}",
                        registered.lease.proxy_id,
                        status.message()
                    );
                    ending.fail(status);
                    break;
                }
            }
            // The proxy closed its side: the stream is over.
            Ok(None) => break,
            Err(status) => {
                tracing::debug!(
                    "stream of proxy {} broke: {status}",
                    registered.lease.proxy_id
                );
                break;
            }
        }
    }
    ending.end();
    drop(registered);
}

/// One message after the first.
fn handle(control: &ControlPlane, lease: &Lease, message: ProxyMessage) -> Result<(), Status> {
    let id = &lease.proxy_id;
    match message.kind {
        Some(Kind::Register(register)) => {
            let registration = Registration::parse(register, &control.namespace)
                .map_err(|invalid| Status::invalid_argument(invalid.to_string()))?;
            if registration.proxy_id != *id {
                return Err(Status::invalid_argument(format!(
                    "register.proxy_id: a stream keeps the id it started with ({id:?}, not {:?})",
                    registration.proxy_id
                )));
            }
            if control.registry.update(lease, registration) {
                tracing::info!("proxy {id} updated its registration");
                control.changed();
            }
        }
        Some(Kind::Ack(ack)) => {
            control
                .registry
                .update_sync(lease, |sync| sync.acked(&ack.version));
            tracing::debug!("proxy {id} ACKed version {}", ack.version);
        }
        Some(Kind::Nack(nack)) => {
            control
                .registry
                .update_sync(lease, |sync| sync.nacked(&nack.version, &nack.error));
            control.metrics.nacks.inc();
            tracing::warn!("proxy {id} NACKed version {}: {}", nack.version, nack.error);
        }
        // A kind from a newer version of the protocol: nothing to do with it.
        None => tracing::debug!("proxy {id} sent a message of a kind not known here"),
    }
    Ok(())
}
