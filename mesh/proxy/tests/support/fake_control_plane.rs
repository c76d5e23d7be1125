//! A fake control plane for the proxy's tests: a real tonic server implementing `Discovery` on
//! `127.0.0.1`, which records every message the proxies send (Register, Ack, Nack) and sends
//! whatever snapshot the test pushes, to every stream, the current one first on a new stream
//! (as the real one does after the Register).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use mesh_api::v1::discovery_server::{Discovery, DiscoveryServer};
use mesh_api::v1::{ProxyMessage, Snapshot, proxy_message::Kind};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// What every stream has received so far, in order.
type Received = Arc<Mutex<Vec<Kind>>>;

/// A running fake; [`FakeControlPlane::stop`] ends its streams and closes its port.
pub struct FakeControlPlane {
    pub addr: SocketAddr,
    received: Received,
    snapshot: watch::Sender<Option<Snapshot>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl FakeControlPlane {
    /// Start on a free port.
    pub async fn start() -> FakeControlPlane {
        FakeControlPlane::start_on("127.0.0.1:0".parse().expect("address")).await
    }

    /// Start on `addr` (a port a stopped fake had, to play a control plane that restarts).
    pub async fn start_on(addr: SocketAddr) -> FakeControlPlane {
        let listener = TcpListener::bind(addr).await.expect("bind the fake");
        let addr = listener.local_addr().expect("address");
        let received = Received::default();
        let (snapshot, _) = watch::channel(None);
        let stop = CancellationToken::new();
        let service = Fake {
            received: received.clone(),
            snapshot: snapshot.subscribe(),
            stop: stop.clone(),
        };
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(DiscoveryServer::new(service))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    stopped.cancelled_owned(),
                )
                .await;
        });
        FakeControlPlane {
            addr,
            received,
            snapshot,
            stop,
            task,
        }
    }

    /// `http://ADDR`, for `--control-plane`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Make `snapshot` the current one: every open stream gets it, and every new one.
    pub fn push(&self, snapshot: Snapshot) {
        self.snapshot.send_replace(Some(snapshot));
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Kind> {
        self.received.lock().expect("not poisoned").clone()
    }

    /// Wait (at most 10 s) until some received message satisfies `found`, and return it.
    pub async fn wait_for<T>(&self, what: &str, found: impl Fn(&Kind) -> Option<T>) -> T {
        for _ in 0..200 {
            if let Some(hit) = self.received().iter().find_map(&found) {
                return hit;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the fake never received {what}; it has: {:?}",
            self.received()
        );
    }

    /// End every stream, stop serving and free the port.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// The gRPC service.
struct Fake {
    received: Received,
    snapshot: watch::Receiver<Option<Snapshot>>,
    stop: CancellationToken,
}

type Snapshots = Pin<Box<dyn Stream<Item = Result<Snapshot, Status>> + Send>>;

#[tonic::async_trait]
impl Discovery for Fake {
    type StreamStream = Snapshots;

    async fn stream(
        &self,
        request: Request<Streaming<ProxyMessage>>,
    ) -> Result<Response<Snapshots>, Status> {
        let mut incoming = request.into_inner();
        let received = self.received.clone();
        let stop = self.stop.clone();
        // Record what the proxy sends, until the stream or the fake ends.
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    message = incoming.message() => match message {
                        Ok(Some(ProxyMessage { kind: Some(kind) })) => {
                            received.lock().expect("not poisoned").push(kind);
                        }
                        _ => return,
                    },
                }
            }
        });
        // Send the current snapshot, then each new one, until the fake stops.
        let mut snapshot = self.snapshot.clone();
        snapshot.mark_changed();
        let stop = self.stop.clone();
        let snapshots = futures::stream::unfold(snapshot, move |mut snapshot| {
            let stop = stop.clone();
            async move {
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return None,
                        changed = snapshot.changed() => changed.ok()?,
                    }
                    let current = snapshot.borrow_and_update().clone();
                    if let Some(current) = current {
                        return Some((Ok(current), snapshot));
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(snapshots)))
    }
}
