//! Starting the dashboard: bind both listeners, start the scrape loop when scraping, serve the
//! pages and the OTLP receiver until [`Running::stop`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

use crate::metrics::prometheus::PrometheusClient;
use crate::metrics::scrape::Scraper;
use crate::metrics::{Metrics, MetricsSource};
use crate::traces::receiver::Receiver;
use crate::traces::store::{Caps, TraceStore};
use crate::web::{self, AppState};

/// Everything the dashboard needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The pages and `/api/graph` (port 0: any free port, read it from [`Running::http_addr`]).
    pub listen: SocketAddr,
    /// The OTLP gRPC trace receiver (`TraceService`), usually port 4317.
    pub otlp: SocketAddr,
    pub metrics: MetricsSource,
    pub trace_caps: Caps,
    /// How often the graph page redraws itself.
    pub refresh: Duration,
    /// A folder of the proxies' log files (`<name>.log`, as `sailkit up` writes them): the
    /// trace page shows the access log lines of the trace's hops. `None`: it says where to look.
    pub access_logs: Option<PathBuf>,
    /// The control plane's gRPC address (`http://HOST:PORT`): a workload's page shows the
    /// routing in force for its service. `None`: it says how to see it.
    pub control_plane: Option<String>,
}

impl Config {
    /// Both listeners on loopback ports the system picks, default caps, refresh every 3 s.
    pub fn local(metrics: MetricsSource) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            otlp: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics,
            trace_caps: Caps::default(),
            refresh: Duration::from_secs(3),
            access_logs: None,
            control_plane: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen for the dashboard's pages on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("cannot listen for OTLP traces on {0}: {1}")]
    ListenOtlp(SocketAddr, std::io::Error),
}

/// A started dashboard. Dropping it stops it too, without waiting.
pub struct Running {
    pub http_addr: SocketAddr,
    pub otlp_addr: SocketAddr,
    pub store: Arc<TraceStore>,
    /// The scrape loop, when the metrics are scraped.
    scraper: Option<Arc<Scraper>>,
    /// The control plane the workload pages ask, shared with them.
    control_plane: Arc<RwLock<Option<String>>>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Scrape these sidecars from now on (with a scrape source; nothing otherwise).
    pub fn set_scrape_targets(&self, targets: &[String]) {
        if let Some(scraper) = &self.scraper {
            scraper.set_targets(targets);
        }
    }

    /// Ask the control plane at `url` (`http://HOST:PORT`) for the routing in force from now
    /// on: a launcher knows its address only once it listens.
    pub fn set_control_plane(&self, url: &str) {
        *self
            .control_plane
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(url.to_owned());
    }

    /// Stops serving and scraping, and waits until every task has ended.
    pub async fn stop(mut self) {
        self.stop.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn start(config: Config) -> Result<Running, StartError> {
    let http = TcpListener::bind(config.listen)
        .await
        .map_err(|error| StartError::Listen(config.listen, error))?;
    let otlp = TcpListener::bind(config.otlp)
        .await
        .map_err(|error| StartError::ListenOtlp(config.otlp, error))?;
    let http_addr = http
        .local_addr()
        .map_err(|error| StartError::Listen(config.listen, error))?;
    let otlp_addr = otlp
        .local_addr()
        .map_err(|error| StartError::ListenOtlp(config.otlp, error))?;
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();

    let mut scraper_handle = None;
    let metrics = match &config.metrics {
        MetricsSource::Scrape {
            targets,
            interval,
            window,
        } => {
            let scraper = Arc::new(Scraper::new(targets, *window));
            tasks.push(tokio::spawn(scraper.clone().run(*interval, stop.clone())));
            scraper_handle = Some(scraper.clone());
            Metrics::Scrape(scraper)
        }
        MetricsSource::Prometheus { url, window } => {
            Metrics::Prometheus(Arc::new(PrometheusClient::new(url, *window)))
        }
    };
    let store = Arc::new(TraceStore::new(config.trace_caps));
    let control_plane = Arc::new(RwLock::new(config.control_plane.clone()));

    let router = web::router(AppState {
        metrics,
        store: store.clone(),
        refresh: config.refresh,
        access_logs: config.access_logs.clone().map(Arc::new),
        control_plane: control_plane.clone(),
    });
    let http_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        let served = axum::serve(http, router)
            .with_graceful_shutdown(http_stop.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "the dashboard's HTTP server stopped");
        }
    }));

    let receiver = TraceServiceServer::new(Receiver {
        store: store.clone(),
    });
    let grpc_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(receiver)
            .serve_with_incoming_shutdown(TcpIncoming::from(otlp), grpc_stop.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "the dashboard's OTLP receiver stopped");
        }
    }));

    Ok(Running {
        http_addr,
        otlp_addr,
        store,
        scraper: scraper_handle,
        control_plane,
        stop,
        tasks,
    })
}
