//! The outbound half of a stream: the snapshots sent to the proxy.
//!
//! The first message is the snapshot of what is in force as the proxy registers (its own
//! endpoint included). After that, the stream is pulled, not pushed: tonic asks it for the
//! next message when the connection can take one, and it answers with the newest snapshot of
//! another version than the last it sent, waiting for one if there is none. A proxy that reads slowly is therefore sent the newest version when it
//! reads again, never a backlog: the memory a stream holds is one `Arc` of a snapshot.
//!
//! The stream ends when the inbound half ends (with its status, if it refused something),
//! when a newer stream takes the proxy's id (ABORTED), or when the control plane stops
//! (UNAVAILABLE, so the proxy reconnects to the next one).

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use mesh_api::v1::Snapshot;
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::Status;

use super::ending::Ending;
use crate::control_plane::ControlPlane;
use crate::registry::Lease;

/// What `Discovery::stream` returns.
pub type SnapshotStream = Pin<Box<dyn Stream<Item = Result<Snapshot, Status>> + Send>>;

/// The state of one outbound stream between two messages.
struct Sender {
    control: Arc<ControlPlane>,
    lease: Lease,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    ending: Arc<Ending>,
    shutdown: CancellationToken,
    /// True until the first snapshot is sent.
    first: bool,
    /// The version of the last snapshot sent.
    sent_version: String,
    /// True once the final message (an error) is out.
    done: bool,
    /// Ends the inbound half when tonic drops this stream.
    _end_inbound: DropGuard,
}

/// The snapshots for the proxy of `lease`: the current one, then every newer one.
pub fn snapshots(
    control: Arc<ControlPlane>,
    lease: Lease,
    ending: Arc<Ending>,
    shutdown: CancellationToken,
) -> SnapshotStream {
    let sender = Sender {
        snapshots: control.subscribe(),
        control,
        lease,
        _end_inbound: ending.token.clone().drop_guard(),
        ending,
        shutdown,
        first: true,
        sent_version: String::new(),
        done: false,
    };
    Box::pin(futures::stream::unfold(sender, next))
}

/// The next message, once there is one; `None` ends the stream.
async fn next(mut sender: Sender) -> Option<(Result<Snapshot, Status>, Sender)> {
    if sender.done {
        return None;
    }
    let snapshot = if sender.first {
        sender.first = false;
        // Built now rather than taken from the channel, so that it already holds this proxy's
        // own endpoint: the push for its registration comes only after the debounce.
        sender.control.snapshot_now()
    } else {
        match wait_for_newer(&mut sender).await {
            Ok(snapshot) => snapshot,
            Err(end) => {
                sender.done = true;
                return end.map(|status| (Err(status), sender));
            }
        }
    };
    sender.sent_version.clone_from(&snapshot.version);
    sender.control.registry.update_sync(&sender.lease, |sync| {
        sync.sent(&snapshot.version, &snapshot.config_version);
    });
    Some((Ok(Snapshot::clone(&snapshot)), sender))
}

/// Waits for a snapshot of another version than the last sent, or for the stream's end (with
/// the status to end it with, if any).
async fn wait_for_newer(sender: &mut Sender) -> Result<Arc<Snapshot>, Option<Status>> {
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
        if snapshot.version != sender.sent_version {
            return Ok(snapshot);
        }
    }
}
