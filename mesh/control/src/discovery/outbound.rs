//! The outbound half of a stream: the snapshots sent to the proxy.
//!
//! The stream is pulled, not pushed: tonic asks it for the next message when the connection
//! can take one, and it answers with the newest snapshot it has not sent yet, waiting for one
//! if there is none. A proxy that reads slowly is therefore sent the newest version when it
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
    /// True until the first snapshot, the current one, is sent.
    first: bool,
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
        done: false,
    };
    Box::pin(futures::stream::unfold(sender, next))
}

/// The next message, once there is one; `None` ends the stream.
async fn next(mut sender: Sender) -> Option<(Result<Snapshot, Status>, Sender)> {
    if sender.done {
        return None;
    }
    if !sender.first {
        tokio::select! {
            biased;
            () = sender.ending.token.cancelled() => {
                sender.done = true;
                let status = sender.ending.take_status()?;
                return Some((Err(status), sender));
            }
            () = sender.lease.replaced.cancelled() => {
                sender.done = true;
                let status = Status::aborted(format!(
                    "proxy {} connected again on a newer stream",
                    sender.lease.proxy_id
                ));
                return Some((Err(status), sender));
            }
            () = sender.shutdown.cancelled() => {
                sender.done = true;
                let status = Status::unavailable("the control plane is shutting down");
                return Some((Err(status), sender));
            }
            changed = sender.snapshots.changed() => changed.ok()?,
        }
    }
    sender.first = false;
    let snapshot = sender.snapshots.borrow_and_update().clone();
    sender.control.registry.update_sync(&sender.lease, |sync| {
        sync.sent(&snapshot.version, &snapshot.config_version);
    });
    Some((Ok(Snapshot::clone(&snapshot)), sender))
}
