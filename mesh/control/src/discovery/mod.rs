//! The Discovery service: one long-lived gRPC stream per proxy.
//!
//! A stream goes through these steps (the proto draws them as a sequence diagram):
//! 1. the proxy's first message must be a `Register` ([`inbound::first_register`]); anything
//!    else ends the stream with INVALID_ARGUMENT, and so does an address that does not parse;
//! 2. the proxy joins the registry, unless `--max-proxies` are connected already
//!    (RESOURCE_EXHAUSTED); a proxy with the same id on an older stream is replaced;
//! 3. two halves then run side by side until either ends: [`outbound`] sends the snapshot of
//!    what is in force (this proxy's endpoint included), then each newer one; [`inbound`] reads
//!    the ACKs, NACKs and new `Register`s;
//! 4. when the stream ends, however it ends, the proxy leaves the registry, and the services
//!    it served lose its endpoint at the next push.
//!
//! [`server`] puts this on the wire: a snapshot is encoded once and its bytes shared by every
//! stream, rather than encoded per stream by tonic's generated server.
//!
//! Hostile or broken clients are bounded: a message is at most [`MAX_MESSAGE_BYTES`], a stream
//! that sends no `Register` is ended after [`REGISTER_WAIT`], HTTP/2 keepalive pings (set on the
//! server in `start`) notice a peer that vanished, and a proxy that does not read gets only the
//! newest snapshot when it reads again, never a queue of them; meanwhile what its stream holds
//! is a reference to the shared bytes, not a copy (`tests/control_plane/crowd.rs`: 10,000
//! streams that never read).

pub mod ending;
pub mod inbound;
pub mod outbound;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use mesh_api::v1::ProxyMessage;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Status, Streaming};

use crate::control_plane::ControlPlane;
use ending::Ending;
use outbound::SnapshotStream;

/// The largest message a proxy may send (a `Register` with its labels, a NACK with its error).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// How long a new stream may take to send its `Register`.
pub const REGISTER_WAIT: Duration = Duration::from_secs(10);

/// The Discovery service: a tower service (see [`server`]) that `tonic`'s router serves.
#[derive(Debug, Clone)]
pub struct DiscoveryService {
    control: Arc<ControlPlane>,
    /// Cancelled when the control plane stops: every stream then ends with UNAVAILABLE, and
    /// the proxies reconnect to the next one.
    shutdown: CancellationToken,
}

/// The Discovery service, to add to a `tonic` server.
pub fn server(control: Arc<ControlPlane>, shutdown: CancellationToken) -> DiscoveryService {
    DiscoveryService { control, shutdown }
}

impl DiscoveryService {
    /// Steps 1 to 3 for a new stream: its snapshots, or the status that refuses it.
    async fn open(
        &self,
        request: Request<Streaming<ProxyMessage>>,
    ) -> Result<SnapshotStream, Status> {
        let peer = request
            .remote_addr()
            .map_or_else(|| "an unknown peer".to_owned(), |a| a.to_string());
        let mut messages = request.into_inner();
        let registration = inbound::first_register(&mut messages, &self.control.namespace)
            .await
            .inspect_err(|status| {
                tracing::warn!("stream from {peer} refused: {}", status.message());
            })?;
        let (lease, replaced) = self.control.connect(registration.clone()).map_err(|full| {
            tracing::warn!("proxy {} refused: {full}", registration.proxy_id);
            Status::resource_exhausted(full.to_string())
        })?;
        tracing::info!(
            service = %registration.service,
            address = %registration.address.map(|a| a.to_string()).unwrap_or_default(),
            %peer,
            "proxy {} registered{}",
            registration.proxy_id,
            if replaced { " (replacing its older stream)" } else { "" }
        );
        let ending = Arc::new(Ending::default());
        tokio::spawn(inbound::read(
            Arc::clone(&self.control),
            lease.clone(),
            messages,
            Arc::clone(&ending),
        ));
        Ok(outbound::snapshots(
            Arc::clone(&self.control),
            lease,
            ending,
            self.shutdown.clone(),
        ))
    }
}
