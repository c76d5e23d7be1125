//! The outbound half of a stream: the snapshots sent to the proxy.
//!
//! The first message is a snapshot that holds what was in force when the proxy registered (its
//! own endpoint included): the newest one built, if it was built after the registration, else
//! a new one (`ControlPlane::snapshot_since`). After that, the stream is pulled, not pushed:
//! the connection asks it for the next message when it can take one, and it answers with the
//! newest published snapshot of another version than the last it sent, waiting for one if
//! there is none. A proxy that reads slowly is therefore sent the newest version when it reads
//! again, never a backlog: the memory a stream holds is one `Arc` of a snapshot, whose encoded
//! bytes every stream shares.
//!
//! The stream ends when the inbound half ends (with its status, if it refused something),
//! when a newer stream takes the proxy's id (ABORTED), or when the control plane stops
//! (UNAVAILABLE, so the proxy reconnects to the next one).

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::Status;

use super::ending::Ending;
use crate::control_plane::ControlPlane;
use crate::registry::Lease;
use crate::snapshot::Published;

/// The snapshots of one stream, then maybe the error that ends it.
pub type SnapshotStream = Pin<Box<dyn Stream<Item = Result<Arc<Published>, Status>> + Send>>;

/// The state of one outbound stream between two messages.
struct Sender {
    control: Arc<ControlPlane>,
    lease: Lease,
    snapshots: watch::Receiver<Arc<Published>>,
    ending: Arc<Ending>,
    shutdown: CancellationToken,
    /// Until the first snapshot is sent: the generation it must hold (the proxy's registration).
    first: Option<u64>,
    /// The version of the last snapshot sent.
    sent_version: String,
    /// True once the final message (an error) is out.
    done: bool,
    /// Ends the inbound half when tonic drops this stream.
    _end_inbound: DropGuard,
}

/// The snapshots for the proxy of `lease`, which has just registered: the current one, then
/// every newer one.
pub fn snapshots(
    control: Arc<ControlPlane>,
    lease: Lease,
    ending: Arc<Ending>,
    shutdown: CancellationToken,
) -> SnapshotStream {
    let sender = Sender {
        snapshots: control.subscribe(),
        // Read after the registration was counted, so a snapshot this recent holds it.
        first: Some(control.generation()),
        control,
        lease,
        _end_inbound: ending.token.clone().drop_guard(),
        ending,
        shutdown,
        sent_version: String::new(),
        done: false,
    };
    Box::pin(futures::stream::unfold(sender, next))
}

/// The next message, once there is one; `None` ends the stream.
async fn next(mut sender: Sender) -> Option<(Result<Arc<Published>, Status>, Sender)> {
    if sender.done {
        return None;
    }
    let snapshot = if let Some(registered_at) = sender.first.take() {
        // Not taken from the channel, so that it already holds this proxy's own endpoint: the
        // push for its registration comes only after the debounce.
        sender.control.snapshot_since(registered_at).await
    } else {
        match wait_for_newer(&mut sender).await {
            Ok(snapshot) => snapshot,
            Err(end) => {
                sender.done = true;
                return end.map(|status| (Err(status), sender));
            }
        }
    };
    let sent = &snapshot.snapshot;
    sender.sent_version.clone_from(&sent.version);
    sender.control.registry.update_sync(&sender.lease, |sync| {
        sync.sent(&sent.version, &sent.config_version);
    });
    Some((Ok(snapshot), sender))
}

/// Waits for a snapshot of another version than the last sent, or for the stream's end (with
/// the status to end it with, if any).
async fn wait_for_newer(sender: &mut Sender) -> Result<Arc<Published>, Option<Status>> {
    loop {
        tokio::select! {
            biased;
            () = sender.ending.token.cancelled() => return Err(sender.ending.take_status()),
            () = sender.lease.replaced.cancelled() => {
                return Err(Some(Status::aborted(format!(
                    "proxy {} connected again on a newer stream",
                    sender.lease.proxy_id
                ))));
            }
            () = sender.shutdown.cancelled() => {
                return Err(Some(Status::unavailable("the control plane is shutting down")));
            }
            changed = sender.snapshots.changed() => changed.map_err(|_| None)?,
        }
        let snapshot = sender.snapshots.borrow_and_update().clone();
        // The first snapshot may have been built before it was published: do not send it twice.
        if snapshot.version() != sender.sent_version {
            return Ok(snapshot);
        }
    }
}
