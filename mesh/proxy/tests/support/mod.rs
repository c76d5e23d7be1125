//! Test harness: small upstream servers and a proxy, all on `127.0.0.1:0`.
//!
//! `Mesh::start` writes a registry file and a config directory into a temporary folder, starts
//! the proxy in-process on port 0, waits for `/ready`, and gives a reqwest client that uses the
//! proxy as its HTTP proxy, so requests arrive in absolute form exactly as a service's would.
#![allow(dead_code)] // each test file uses a different part of the harness

pub mod prometheus_text;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// An upstream instance; it stops when dropped.
pub struct Upstream {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// How many requests reached it.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The most requests it was handling at the same time (`upstream_with` only).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Counts a request in progress at an upstream, and its peak.
struct Busy(Arc<AtomicUsize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An upstream answering `status` with body `text` after `delay`, to any request.
pub async fn upstream_with(text: &str, status: u16, delay: Duration) -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (counter, max) = (hits.clone(), peak.clone());
    let text = text.to_owned();
    let status = StatusCode::from_u16(status).expect("valid status");
    let app = Router::new().fallback(move || {
        let (counter, max, in_flight) = (counter.clone(), max.clone(), in_flight.clone());
        let text = text.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            let _busy = Busy(in_flight);
            max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            (status, text)
        }
    });
    serve_counted(app, hits, peak).await
}

/// An upstream serving `app`.
pub async fn serve(app: Router) -> Upstream {
    serve_counted(app, Arc::default(), Arc::default()).await
}

/// An upstream serving `app`, which counts in `hits` and `peak` itself.
async fn serve_counted(app: Router, hits: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Upstream {
        addr,
        hits,
        peak,
        task,
    }
}

/// An upstream that answers 200 with its version.
pub async fn upstream(version: &str) -> Upstream {
    upstream_with(version, 200, Duration::ZERO).await
}

/// An upstream that answers with what it received: `METHOD URI host=HOST x-route=X`.
pub async fn echo_upstream() -> Upstream {
    let app = Router::new().fallback(|request: axum::extract::Request| async move {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        format!(
            "{} {} host={} x-route={} proxy-connection={}",
            request.method(),
            request.uri(),
            header("host"),
            header("x-route"),
            header("proxy-connection"),
        )
    });
    serve(app).await
}

/// An upstream that answers with the caller's address (`127.0.0.1:PORT`): each new connection
/// from the proxy shows as a new port.
pub async fn peer_upstream() -> Upstream {
    use axum::extract::ConnectInfo;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(move |ConnectInfo(peer): ConnectInfo<SocketAddr>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { peer.to_string() }
    });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Upstream {
        addr,
        hits,
        peak: Arc::default(),
        task,
    }
}

/// A `name value` counter of `/stats` (panics if absent: a renamed counter must fail tests).
pub fn stat(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in:\n{stats}"))
}

/// An address where nothing listens: connecting is refused.
pub fn refused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
    // Dropped here: the port is closed again.
}

/// A listener that never completes a new connection: its accept queue (backlog 0) is already
/// taken by a connection nobody accepts, so the kernel drops the next one's SYN and connecting
/// to it hangs, as to a host that does not answer. Keep it alive while it is used.
pub struct Silent {
    pub addr: SocketAddr,
    _listener: tokio::net::TcpListener,
    _queued: std::net::TcpStream,
}

pub fn silent_addr() -> Silent {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("address");
    let queued = std::net::TcpStream::connect(addr).expect("the one queued connection");
    Silent {
        addr,
        _listener: listener,
        _queued: queued,
    }
}

/// A registry entry: (service, [(address, version)]).
pub type Entry<'a> = (&'a str, Vec<(SocketAddr, &'a str)>);

/// The registry JSON the launcher would write.
pub fn registry_json(services: &[Entry<'_>]) -> String {
    let services: Vec<_> = services
        .iter()
        .map(|(name, endpoints)| {
            json!({
                "name": name,
                "endpoints": endpoints.iter().map(|(addr, version)| json!({
                    "address": addr.to_string(),
                    "labels": {"app": name, "version": version},
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "services": services }).to_string()
}

/// A scenario file from `k8s/networking/`.
pub fn scenario(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../k8s/networking")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `x-sailkit-flags` of a response (the proxy's response flags, `UO`, `NR`, ...), or "".
pub fn flags(headers: &http::HeaderMap) -> String {
    headers
        .get("x-sailkit-flags")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A VirtualService for `ratings` routing to it, with `http_extra` (indented YAML lines such as
/// `      timeout: 300ms`) under its one route.
pub fn ratings_vs(http_extra: &str) -> String {
    format!(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
    - route:
        - destination:
            host: ratings
{http_extra}
"#
    )
}

/// A DestinationRule for `ratings` whose `trafficPolicy` is `traffic_policy` (indented by four
/// spaces, as under `trafficPolicy:`).
pub fn ratings_dr(traffic_policy: &str) -> String {
    format!(
        r#"
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
spec:
  host: ratings
  trafficPolicy:
{traffic_policy}
"#
    )
}

/// Run a proxy in-process on these listeners; cancelling the token it returns stops it.
pub fn spawn(
    settings: mesh_proxy::Settings,
    listeners: mesh_proxy::Listeners,
) -> CancellationToken {
    let shutdown = CancellationToken::new();
    tokio::spawn(mesh_proxy::run_with(settings, listeners, shutdown.clone()));
    shutdown
}

/// The settings of a proxy listening on `outbound` and `admin`, with the command line's defaults
/// and no source of config yet (set `config_dir` and `registry`, or `control_plane`).
pub fn settings(outbound: SocketAddr, admin: SocketAddr) -> mesh_proxy::Settings {
    mesh_proxy::Settings {
        config_dir: None,
        registry: PathBuf::new(),
        control_plane: None,
        proxy_id: None,
        service: None,
        service_account: None,
        advertise_address: None,
        outbound,
        admin,
        inbound: None,
        app: None,
        app_addr_file: None,
        addr_file: None,
        namespace: "default".to_owned(),
        workload: None,
        cluster: "Kubernetes".to_owned(),
        labels: Vec::new(),
        workers: 1,
        access_log: mesh_proxy::log_buffer::Destination::Stdout,
        gateway: None,
        gateway_port: None,
        connections: Default::default(),
        tracing: Default::default(),
    }
}

/// A running proxy with its temporary config directory and registry.
pub struct Mesh {
    pub dir: tempfile::TempDir,
    pub config_dir: PathBuf,
    pub registry: PathBuf,
    pub outbound: SocketAddr,
    pub admin: SocketAddr,
    /// Sends through the proxy (absolute form).
    pub client: reqwest::Client,
    /// Talks to servers directly (admin, origin form).
    pub direct: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Mesh {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Mesh {
    /// Start a proxy with this registry and these config files (name, YAML), and wait until ready.
    pub async fn start(services: &[Entry<'_>], files: &[(&str, String)]) -> Mesh {
        let mesh = Mesh::start_unready(Some(services), files).await;
        mesh.wait_ready().await;
        mesh
    }

    /// Start a proxy for a workload with these labels (`--label`), and wait until ready.
    pub async fn start_as(
        labels: &[(&str, &str)],
        services: &[Entry<'_>],
        files: &[(&str, String)],
    ) -> Mesh {
        let mesh = Mesh::start_labelled(labels, Some(services), files).await;
        mesh.wait_ready().await;
        mesh
    }

    /// Start a proxy without waiting; `services: None` writes no registry file.
    pub async fn start_unready(services: Option<&[Entry<'_>]>, files: &[(&str, String)]) -> Mesh {
        Mesh::start_labelled(&[], services, files).await
    }

    /// Start a proxy as the ingress gateway `gateway` (`--gateway`) standing for the Gateway's
    /// servers on `port` (`--gateway-port`), and wait until ready.
    pub async fn start_gateway(
        gateway: &str,
        port: u16,
        services: &[Entry<'_>],
        files: &[(&str, String)],
    ) -> Mesh {
        let mesh =
            Mesh::start_with(&[], Some((gateway, port)), Some(services), files, |_| {}).await;
        mesh.wait_ready().await;
        mesh
    }

    async fn start_labelled(
        labels: &[(&str, &str)],
        services: Option<&[Entry<'_>]>,
        files: &[(&str, String)],
    ) -> Mesh {
        Mesh::start_with(labels, None, services, files, |_| {}).await
    }

    /// Start a proxy for a workload with these labels, with settings changed by `tune`
    /// (tracing flags, say), and wait until ready.
    pub async fn start_tuned(
        labels: &[(&str, &str)],
        services: &[Entry<'_>],
        files: &[(&str, String)],
        tune: impl FnOnce(&mut mesh_proxy::Settings),
    ) -> Mesh {
        let mesh = Mesh::start_with(labels, None, Some(services), files, tune).await;
        mesh.wait_ready().await;
        mesh
    }

    async fn start_with(
        labels: &[(&str, &str)],
        gateway: Option<(&str, u16)>,
        services: Option<&[Entry<'_>]>,
        files: &[(&str, String)],
        tune: impl FnOnce(&mut mesh_proxy::Settings),
    ) -> Mesh {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_dir = dir.path().join("networking");
        std::fs::create_dir(&config_dir).expect("config dir");
        for (name, text) in files {
            std::fs::write(config_dir.join(name), text).expect("write config");
        }
        let registry = dir.path().join("registry.json");
        if let Some(services) = services {
            std::fs::write(&registry, registry_json(services)).expect("write registry");
        }
        let outbound = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (outbound_addr, admin_addr) = (
            outbound.local_addr().expect("address"),
            admin.local_addr().expect("address"),
        );
        let mut settings = mesh_proxy::Settings {
            config_dir: Some(config_dir.clone()),
            registry: registry.clone(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            gateway: gateway.map(|(name, _)| name.to_owned()),
            gateway_port: gateway.map(|(_, port)| port),
            ..settings(outbound_addr, admin_addr)
        };
        tune(&mut settings);
        let shutdown = CancellationToken::new();
        tokio::spawn(mesh_proxy::run(settings, outbound, admin, shutdown.clone()));
        let mut mesh = Mesh::attach(dir, outbound_addr, admin_addr, shutdown);
        mesh.config_dir = config_dir;
        mesh.registry = registry;
        mesh
    }

    /// A [`Mesh`] for a proxy already started on `outbound` and `admin`, which `shutdown` stops;
    /// `dir` is kept until it is dropped.
    pub fn attach(
        dir: tempfile::TempDir,
        outbound: SocketAddr,
        admin: SocketAddr,
        shutdown: CancellationToken,
    ) -> Mesh {
        let client = reqwest::Client::builder()
            .proxy(reqwest::Proxy::http(format!("http://{outbound}")).expect("proxy url"))
            .build()
            .expect("client");
        let direct = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        Mesh {
            config_dir: dir.path().to_owned(),
            registry: dir.path().join("registry.json"),
            dir,
            outbound,
            admin,
            client,
            direct,
            shutdown,
        }
    }

    /// Poll `/ready` until 200 (at most 10 s).
    pub async fn wait_ready(&self) {
        self.wait_for("/ready", |status, _| status == 200).await;
    }

    /// Poll an admin path until `done(status, body)` holds (at most 10 s).
    pub async fn wait_for(&self, path: &str, done: impl Fn(u16, &str) -> bool) -> String {
        for _ in 0..200 {
            let (status, body) = self.admin_get(path).await;
            if done(status, &body) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} never reached the expected state");
    }

    /// GET an admin path: (status, body).
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let response = self
            .direct
            .get(format!("http://{}{path}", self.admin))
            .send()
            .await
            .expect("admin request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("admin body"))
    }

    /// GET `url` through the proxy, with optional `end-user`: (status, flags header, body).
    pub async fn get(&self, url: &str, user: Option<&str>) -> (u16, String, String) {
        let mut request = self.client.get(url);
        if let Some(user) = user {
            request = request.header("end-user", user);
        }
        let response = request.send().await.expect("request through the proxy");
        let status = response.status().as_u16();
        let flags = flags(response.headers());
        (status, flags, response.text().await.expect("body"))
    }

    /// Write (or overwrite) a config file.
    /// Writes a config file whole, as `sailkit apply` does: to a temporary name, then renamed.
    /// (Written in place, a large file could be seen half-written by a poll, refused, and read
    /// again whole at the next poll: two reloads where a test expects one.)
    pub fn write_config(&self, name: &str, text: &str) {
        let temporary = self.config_dir.join(format!(".{name}.tmp"));
        std::fs::write(&temporary, text).expect("write config");
        std::fs::rename(&temporary, self.config_dir.join(name)).expect("rename config");
    }
}

/// Where an [`InboundProxy`] finds its application.
pub enum App {
    /// `--app ADDR`.
    At(SocketAddr),
    /// `--app-addr-file` naming this file in the proxy's temporary folder (not written yet).
    File(&'static str),
}

/// A proxy with an inbound listener in front of the local application and an empty registry,
/// all its listeners on `127.0.0.1:0`; it stops when dropped.
pub struct InboundProxy {
    pub inbound: SocketAddr,
    pub admin: SocketAddr,
    /// The application's address file, for [`App::File`].
    pub app_file: Option<PathBuf>,
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for InboundProxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl InboundProxy {
    /// Binds the listeners and starts the proxy in-process, without waiting for `/ready`.
    pub async fn start(app: App) -> InboundProxy {
        InboundProxy::start_tuned(app, |_| {}).await
    }

    /// [`InboundProxy::start`], with settings changed by `tune`.
    pub async fn start_tuned(
        app: App,
        tune: impl FnOnce(&mut mesh_proxy::Settings),
    ) -> InboundProxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let registry = dir.path().join("registry.json");
        std::fs::write(&registry, r#"{"services": []}"#).expect("write registry");
        let (app, app_file) = match app {
            App::At(addr) => (Some(addr), None),
            App::File(name) => (None, Some(dir.path().join(name))),
        };
        let bind = || TcpListener::bind("127.0.0.1:0");
        let (outbound, admin, inbound) = (
            bind().await.expect("bind"),
            bind().await.expect("bind"),
            bind().await.expect("bind"),
        );
        let inbound_addr = inbound.local_addr().expect("address");
        let admin_addr = admin.local_addr().expect("address");
        let mut settings = mesh_proxy::Settings {
            registry,
            inbound: Some(inbound_addr),
            app,
            app_addr_file: app_file.clone(),
            ..settings(outbound.local_addr().expect("address"), admin_addr)
        };
        tune(&mut settings);
        let listeners = mesh_proxy::Listeners {
            outbound,
            admin,
            inbound: Some(inbound),
        };
        let shutdown = spawn(settings, listeners);
        InboundProxy {
            inbound: inbound_addr,
            admin: admin_addr,
            app_file,
            _dir: dir,
            shutdown,
        }
    }
}
