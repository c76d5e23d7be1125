//! Starting and stopping: bind the two listeners, read the config, then serve until shutdown.
//!
//! The steps of [`Bound::serve`], in order:
//! 1. serve the admin HTTP endpoints, so `/ready` answers 503 while the config is read;
//! 2. read the config folder once, publish the first snapshot, and become ready (with
//!    `--kubernetes`, start the Kubernetes sources instead: they become ready once every kind is
//!    listed, see `kubernetes`);
//! 3. start the folder watcher and the debounced publisher;
//! 4. serve gRPC (Discovery, Admin and Config) until `shutdown`; the streams then end with
//!    UNAVAILABLE and the proxies go on with their last snapshot until they reconnect.
//!
//! [`bind`] is separate from serving so that a caller (a test, the launcher) learns the bound
//! addresses before anything is served: with port 0 the system picks them.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::config_source::Loader;
use crate::config_source::watch::{self, SharedLoader};
use crate::control_plane::ControlPlane;
use crate::{Settings, admin, config_api, discovery, kubernetes, publish, status};

/// HTTP/2 pings on an idle connection, and how long the answer may take: a proxy whose host
/// vanished (no FIN, no RST) is noticed within about 40 s and its registration removed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the servers may take to finish once shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The listeners, bound and not yet served.
pub struct Bound {
    settings: Settings,
    grpc: TcpListener,
    admin: TcpListener,
    grpc_addr: SocketAddr,
    admin_addr: SocketAddr,
    /// The client of the Kubernetes sources, with `--kubernetes`.
    kubernetes: Option<kube::Client>,
}

impl std::fmt::Debug for Bound {
    // By hand: kube's `Client` has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("grpc_addr", &self.grpc_addr)
            .field("admin_addr", &self.admin_addr)
            .field("kubernetes", &self.kubernetes.is_some())
            .finish_non_exhaustive()
    }
}

/// Binds `--grpc` and `--admin`, writes `--addr-file`, and with `--kubernetes` makes the
/// Kubernetes client (an error if there is no configuration for one).
pub async fn bind(settings: Settings) -> anyhow::Result<Bound> {
    let kubernetes = if settings.kubernetes {
        Some(kubernetes::client_from_environment().await?)
    } else {
        None
    };
    bind_listeners(settings, kubernetes).await
}

/// [`bind`] for `--kubernetes` with the client given instead of found (tests give one that
/// talks to a fake API server).
pub async fn bind_with_kubernetes(
    settings: Settings,
    client: kube::Client,
) -> anyhow::Result<Bound> {
    bind_listeners(settings, Some(client)).await
}

async fn bind_listeners(
    settings: Settings,
    kubernetes: Option<kube::Client>,
) -> anyhow::Result<Bound> {
    let (grpc, grpc_addr) = listen(settings.grpc, "--grpc").await?;
    let (admin, admin_addr) = listen(settings.admin, "--admin").await?;
    if let Some(path) = &settings.addr_file {
        write_addr_file(path, grpc_addr, admin_addr)?;
    }
    Ok(Bound {
        settings,
        grpc,
        admin,
        grpc_addr,
        admin_addr,
        kubernetes,
    })
}

/// Binds, then serves until `shutdown` is cancelled.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    bind(settings).await?.serve(shutdown).await
}

impl Bound {
    /// Where the gRPC listener is bound.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Where the admin HTTP listener is bound.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// Serves until `shutdown` is cancelled (the steps are in the module doc).
    pub async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let settings = self.settings;
        // The key proxies sign their names with (see `mesh.proto`'s `peer_key`).
        let peer_key = crate::snapshot::new_peer_key()
            .map_err(|error| anyhow::anyhow!("cannot make the peer key: {error}"))?;
        let control = Arc::new(ControlPlane::new(
            settings.namespace.clone(),
            settings.max_proxies,
            settings.cluster.clone(),
            peer_key,
        ));
        tracing::info!(
            "control plane serving gRPC on {}, admin on {}",
            self.grpc_addr,
            self.admin_addr
        );

        // 1. Admin HTTP, not ready yet.
        let admin = axum::serve(self.admin, admin::router(Arc::clone(&control)))
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let admin = tokio::spawn(async move { admin.await });

        // 2. The first read of the config folder. The fingerprint is taken first, so a change
        //    made while the folder is read is seen at the watcher's first poll. Or the
        //    Kubernetes sources, which read and follow the API by themselves (the loader then
        //    has no folder, and the Config API refuses changes: `kubectl apply` makes them).
        let dir = settings.config_dir.clone();
        let loader: SharedLoader = Arc::new(Mutex::new(Loader::new(dir.clone())));
        let watcher = if let Some(client) = self.kubernetes {
            tokio::spawn(kubernetes::run(
                client,
                settings.watch_namespace.clone(),
                Arc::clone(&control),
                shutdown.clone(),
            ))
        } else {
            let seen = watch::fingerprint(dir.as_deref());
            let (locked, config) =
                watch::load_off_the_runtime(Arc::clone(&loader).lock_owned().await).await?;
            control.set_config(config);
            drop(locked);
            publish::push(&control);
            control.mark_ready();
            // The folder watcher.
            tokio::spawn(watch::run(
                Arc::clone(&loader),
                dir,
                seen,
                Arc::clone(&control),
                shutdown.clone(),
            ))
        };

        // 3. The debounced publisher.
        let publisher = tokio::spawn(publish::run(
            Arc::clone(&control),
            settings.debounce(),
            shutdown.clone(),
        ));

        // 4. gRPC until shutdown.
        let incoming = TcpIncoming::from(self.grpc).with_nodelay(Some(true));
        let grpc = Server::builder()
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
            .add_service(discovery::server(Arc::clone(&control), shutdown.clone()))
            .add_service(status::server(Arc::clone(&control)))
            .add_service(config_api::server(
                Arc::clone(&control),
                loader,
                settings.config_dir.clone(),
            ))
            .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
        let grpc = tokio::spawn(grpc);

        shutdown.cancelled().await;
        tracing::info!("control plane stopping");
        for task in [watcher, publisher] {
            let _ = task.await;
        }
        finish("gRPC", grpc).await?;
        finish("admin", admin).await?;
        Ok(())
    }
}

/// Waits for a server task to finish draining, at most [`DRAIN_TIMEOUT`].
async fn finish<E>(
    name: &str,
    mut task: tokio::task::JoinHandle<Result<(), E>>,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut task).await {
        Ok(joined) => joined
            .with_context(|| format!("the {name} server task failed"))?
            .with_context(|| format!("the {name} server failed")),
        Err(_) => {
            task.abort();
            tracing::warn!(
                "the {name} server did not finish within {} s; stopped",
                DRAIN_TIMEOUT.as_secs()
            );
            Ok(())
        }
    }
}

async fn listen(addr: SocketAddr, flag: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {flag} {addr}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Writes the address file whole: a temporary file beside it, then a rename, so that a reader
/// polling for it never sees it half-written.
fn write_addr_file(path: &Path, grpc: SocketAddr, admin: SocketAddr) -> anyhow::Result<()> {
    let text = format!("grpc={grpc}\nadmin={admin}\n");
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", Path::new(&temporary).display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot write the address file {}", path.display()))?;
    Ok(())
}
