//! A control plane in the test process (or the `mesh-control` binary), on port 0, and proxies
//! that talk to it over real gRPC.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use clap::Parser as _;
use futures::channel::mpsc;
use mesh_api::v1::admin_client::AdminClient;
use mesh_api::v1::discovery_client::DiscoveryClient;
use mesh_api::v1::proxy_message::Kind;
use mesh_api::v1::{
    Ack, Nack, ProxyMessage, ProxyStatusRequest, ProxyStatusResponse, Register, Snapshot,
};
use serde_json::Value;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};

/// A VirtualService for `reviews`, all to v1.
pub const REVIEWS_V1: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
";

/// The `mesh-control` binary this test was built with.
pub const BINARY: &str = env!("CARGO_BIN_EXE_mesh-control");

/// How long a test waits for something that should take well under a second.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A control plane serving a temporary config folder; stopped when dropped.
pub struct Plane {
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
    pub dir: TempDir,
    shutdown: CancellationToken,
    serving: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Plane {
    /// Starts one with `files` in its folder and `flags` added to the command line.
    pub async fn start(files: &[(&str, &str)], flags: &[&str]) -> Plane {
        let dir = tempfile::tempdir().expect("temporary folder");
        for (name, text) in files {
            write(dir.path(), name, text);
        }
        let config_dir = dir.path().display().to_string();
        let settings = settings(&[&["--config-dir", &config_dir], flags].concat());
        let bound = mesh_control::bind(settings).await.expect("binds");
        Plane::serve(bound, dir).await
    }

    /// Starts one whose config and workloads come from the Kubernetes API through `client`
    /// (see `fake_api`), with `flags` added to the command line.
    pub async fn start_kubernetes(client: kube::Client, flags: &[&str]) -> Plane {
        let settings = settings(&[&["--kubernetes"], flags].concat());
        let bound = mesh_control::bind_with_kubernetes(settings, client)
            .await
            .expect("binds");
        let dir = tempfile::tempdir().expect("temporary folder");
        Plane::serve(bound, dir).await
    }

    /// Serves `bound` until dropped, once it is ready.
    async fn serve(bound: mesh_control::Bound, dir: TempDir) -> Plane {
        let (grpc, admin) = (bound.grpc_addr(), bound.admin_addr());
        let shutdown = CancellationToken::new();
        let serving = tokio::spawn(bound.serve(shutdown.clone()));
        let plane = Plane {
            grpc,
            admin,
            dir,
            shutdown,
            serving: Some(serving),
        };
        plane.wait_ready().await;
        plane
    }

    /// Stops it, as SIGTERM does, and returns how `serve` ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let serving = self.serving.take().expect("serving");
        tokio::time::timeout(PATIENCE, serving)
            .await
            .expect("stops within the patience")
            .expect("the serving task did not panic")
    }

    async fn wait_ready(&self) {
        until_ready(self.admin).await;
    }

    /// `GET path` on the admin port.
    async fn get(&self, path: &str) -> reqwest::Response {
        get(self.admin, path).await
    }

    /// `GET path` on the admin port, as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.expect("JSON")
    }

    /// `GET /metrics`.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.expect("text")
    }

    /// The Admin gRPC `ProxyStatus`.
    pub async fn proxy_status(&self) -> ProxyStatusResponse {
        let mut admin = AdminClient::connect(format!("http://{}", self.grpc))
            .await
            .expect("connects");
        admin
            .proxy_status(ProxyStatusRequest {})
            .await
            .expect("ProxyStatus answers")
            .into_inner()
    }

    /// Polls `/config_dump` until `done` holds for it.
    pub async fn config_dump_until(&self, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let dump = self.get_json("/config_dump").await;
            if done(&dump) {
                return dump;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting: {dump:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The settings of a control plane on port 0 (gRPC and admin), with `flags`.
fn settings(flags: &[&str]) -> mesh_control::Settings {
    let mut args = vec![
        "mesh-control",
        "--grpc",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(flags);
    mesh_control::Settings::try_parse_from(args).expect("valid flags")
}

/// Polls the admin port's `/ready` until it answers 200.
pub async fn until_ready(admin: SocketAddr) {
    let url = format!("http://{admin}/ready");
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(&url).await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the control plane was not ready within 5 s");
}

/// `GET path` on an admin port.
pub async fn get(admin: SocketAddr, path: &str) -> reqwest::Response {
    reqwest::get(format!("http://{admin}{path}"))
        .await
        .expect("admin answers")
}

/// Waits until the file at `path` exists (a binary's `--addr-file`), and returns its text.
pub async fn read_when_written(path: &Path) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} was not written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Writes a file of the config folder.
pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write a config file");
}

/// A registration for workload `id` of `service` at `address`, labelled `app` and `version`.
pub fn register(id: &str, service: &str, address: &str, version: &str) -> ProxyMessage {
    let labels = HashMap::from([
        ("app".to_owned(), service.to_owned()),
        ("version".to_owned(), version.to_owned()),
    ]);
    ProxyMessage {
        kind: Some(Kind::Register(Register {
            proxy_id: id.to_owned(),
            service: service.to_owned(),
            address: address.to_owned(),
            labels,
            ..Register::default()
        })),
    }
}

pub fn ack(version: &str) -> ProxyMessage {
    ProxyMessage {
        kind: Some(Kind::Ack(Ack {
            version: version.to_owned(),
        })),
    }
}

pub fn nack(version: &str, error: &str) -> ProxyMessage {
    ProxyMessage {
        kind: Some(Kind::Nack(Nack {
            version: version.to_owned(),
            error: error.to_owned(),
        })),
    }
}

/// A proxy's stream: what it sends, and the snapshots it receives.
pub struct Proxy {
    pub send: mpsc::UnboundedSender<ProxyMessage>,
    pub snapshots: Streaming<Snapshot>,
}

/// Opens a stream whose first message is `first`; the error is the control plane's refusal.
pub async fn open(grpc: SocketAddr, first: ProxyMessage) -> Result<Proxy, Status> {
    let mut client = DiscoveryClient::connect(format!("http://{grpc}"))
        .await
        .expect("connects");
    let (send, messages) = mpsc::unbounded();
    send.unbounded_send(first).expect("queued");
    let snapshots = client.stream(messages).await?.into_inner();
    Ok(Proxy { send, snapshots })
}

impl Proxy {
    /// Registers as `id` and returns the proxy with its first snapshot.
    pub async fn connect(grpc: SocketAddr, id: &str, address: &str) -> (Proxy, Snapshot) {
        let mut proxy = open(grpc, register(id, "reviews", address, id))
            .await
            .expect("registered");
        let first = proxy.next().await;
        (proxy, first)
    }

    /// The next snapshot, within [`PATIENCE`].
    pub async fn next(&mut self) -> Snapshot {
        self.next_within(PATIENCE)
            .await
            .expect("a snapshot within the patience")
    }

    /// The next snapshot if one comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Snapshot> {
        let next = tokio::time::timeout(wait, self.snapshots.message())
            .await
            .ok()?;
        Some(
            next.expect("the stream is healthy")
                .expect("the stream is open"),
        )
    }

    pub fn send(&self, message: ProxyMessage) {
        self.send
            .unbounded_send(message)
            .expect("the stream is open");
    }
}

/// The proxy ids of a snapshot's endpoints of `service`.
pub fn endpoint_ids(snapshot: &Snapshot, service: &str) -> Vec<String> {
    snapshot
        .services
        .iter()
        .filter(|s| s.name == service)
        .flat_map(|s| s.endpoints.iter().map(|e| e.proxy_id.clone()))
        .collect()
}
