//! [`Proxy`], what the outbound, inbound and admin listeners share, and the start path every
//! binary takes: [`bind`] the listeners [`Settings`] asks for, then [`run_with`] them until
//! shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::settings::Settings;
use crate::{
    admin, control, inbound, log_buffer, metrics, outbound, server, stage, state, stats, trace,
    watch,
};

/// Everything the two listeners share.
pub struct Proxy {
    pub settings: Settings,
    /// This workload's labels (`--label`), built once at start: every outbound route lookup
    /// matches `sourceLabels` against them.
    pub labels: BTreeMap<String, String>,
    pub state: state::Shared,
    pub stats: Arc<stats::Stats>,
    /// Istio's standard metrics, with this workload's own labels (`--workload`, `--namespace`,
    /// `--cluster`, `--label`).
    pub metrics: metrics::Metrics,
    /// Pooled clients towards upstreams, one per protocol.
    pub client: stage::forward::Clients,
    /// `connectionPool` limits in use, per destination (live counters, outside the snapshot).
    pub breakers: stage::circuit_breaker::Breakers,
    /// `outlierDetection` state, per destination.
    pub detectors: stage::outlier::Detectors,
    /// Access log lines waiting to be written (`--access-log`).
    pub access_log: log_buffer::LogBuffer,
    /// Sampling, spans and their export (`--trace-sampling`, `--otlp-endpoint`).
    pub tracing: trace::Tracing,
}

/// The bound listeners; `inbound` only with `--inbound` (and `--app` or `--app-addr-file`).
pub struct Listeners {
    pub outbound: TcpListener,
    pub admin: TcpListener,
    pub inbound: Option<TcpListener>,
}

/// Load config and registry (from files, or from `--control-plane`), then serve the outbound
/// and admin listeners until `shutdown`.
/// The listeners' addresses are the caller's business (`main` binds them from [`Settings`]).
pub async fn run(
    settings: Settings,
    outbound: TcpListener,
    admin: TcpListener,
    shutdown: CancellationToken,
) {
    let listeners = Listeners {
        outbound,
        admin,
        inbound: None,
    };
    run_with(settings, listeners, shutdown).await;
}

/// [`run`], with every listener, the inbound one included (it forwards to `settings.app`, or to
/// the address `settings.app_addr_file` holds once it does).
pub async fn run_with(settings: Settings, listeners: Listeners, shutdown: CancellationToken) {
    let Listeners {
        outbound,
        admin,
        inbound,
    } = listeners;
    let mut settings = settings;
    // A gateway's listener stands for the Gateway servers on its own port, unless told otherwise.
    if settings.gateway.is_some() && settings.gateway_port.is_none() {
        settings.gateway_port = outbound.local_addr().ok().map(|a| a.port());
    }
    let settings_access_log = settings.access_log;
    // A fixed `--app` is known from the start; `--app-addr-file` is read by the watcher.
    let snapshot = state::Snapshot {
        app: settings.app,
        ..state::Snapshot::default()
    };
    let labels = settings.labels.iter().cloned().collect();
    let metrics = own_metrics(&settings, &labels);
    let tracing = trace::Tracing::new(&settings);
    let proxy = Arc::new(Proxy {
        labels,
        metrics,
        tracing,
        settings,
        state: state::Shared::from_pointee(snapshot),
        stats: Arc::default(),
        client: stage::forward::client(),
        breakers: Default::default(),
        detectors: Default::default(),
        access_log: log_buffer::LogBuffer::new(settings_access_log),
    });
    // The config comes from one source: the files (watched), or the control plane. The
    // application's address file is watched either way.
    let watcher = watch::Watcher::start(&proxy);
    tokio::spawn(watcher.run(proxy.clone(), shutdown.clone()));
    if let Some(url) = proxy.settings.control_plane.clone() {
        let inbound_addr = inbound.as_ref().and_then(|l| l.local_addr().ok());
        tokio::spawn(control::run(
            proxy.clone(),
            url,
            inbound_addr,
            shutdown.clone(),
        ));
    }
    let flusher_proxy = proxy.clone();
    let flusher_stop = CancellationToken::new();
    let flusher_stopped = flusher_stop.clone();
    let flusher = tokio::spawn(async move {
        flusher_proxy.access_log.run_flusher(flusher_stopped).await;
    });
    let last = proxy.clone();
    let admin_proxy = proxy.clone();
    // Every listener gets the same limits (`--header-timeout-ms`, `--idle-timeout-ms`,
    // `--max-connections`), each its own cap.
    let limits = proxy.settings.limits();
    let admin = tokio::spawn(server::serve(
        admin,
        limits,
        shutdown.clone(),
        move |request| admin::handle(admin_proxy.clone(), request),
    ));
    let inbound = inbound.map(|listener| {
        let inbound_proxy = proxy.clone();
        tokio::spawn(server::serve(
            listener,
            limits,
            shutdown.clone(),
            move |request| inbound::handle(inbound_proxy.clone(), request),
        ))
    });
    server::serve(outbound, limits, shutdown, move |request| {
        outbound::handle(proxy.clone(), request)
    })
    .await;
    let _ = admin.await;
    if let Some(inbound) = inbound {
        let _ = inbound.await;
    }
    // Every listener has drained: the last lines of the access log go out now.
    flusher_stop.cancel();
    let _ = flusher.await;
    last.access_log.flush();
    // And the last spans (waiting at most two seconds for the collector, off this thread).
    let _ = tokio::task::spawn_blocking(move || last.tracing.stop()).await;
}

/// The metrics of this workload: its labels as `source_*` going out and `destination_*`
/// coming in, and its service as `destination_service` coming in.
fn own_metrics(
    settings: &Settings,
    labels: &std::collections::BTreeMap<String, String>,
) -> metrics::Metrics {
    let own = metrics::WorkloadLabels::new(
        &settings.workload(),
        &settings.namespace,
        &settings.cluster,
        labels,
    );
    let service = settings.service();
    let qualified = if service.is_empty() {
        String::new()
    } else {
        mesh_config::host::qualify(&service, &settings.namespace)
    };
    metrics::Metrics::new(own, metrics::ServiceLabels::new(&service, &qualified))
}

/// Binds the listeners `settings` asks for and writes their addresses to `--addr-file`, if
/// given, as `outbound=ADDR`, `admin=ADDR` and (with `--inbound`) `inbound=ADDR` lines. The file
/// is written under a temporary name and renamed, so a launcher polling for it never reads half
/// of it. Shared by the `mesh-proxy` binary and `sailkit proxy`.
pub async fn bind(settings: &Settings) -> anyhow::Result<Listeners> {
    use anyhow::Context as _;
    use tokio::net::TcpListener;

    let outbound = TcpListener::bind(settings.outbound)
        .await
        .with_context(|| format!("--outbound {}: cannot listen", settings.outbound))?;
    let admin = TcpListener::bind(settings.admin)
        .await
        .with_context(|| format!("--admin {}: cannot listen", settings.admin))?;
    let inbound = match settings.inbound {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("--inbound {addr}: cannot listen"))?,
        ),
        None => None,
    };
    let (outbound_addr, admin_addr) = (outbound.local_addr()?, admin.local_addr()?);
    match &settings.gateway {
        None => tracing::info!(%outbound_addr, %admin_addr, "mesh-proxy listening"),
        Some(gateway) => tracing::info!(
            %outbound_addr,
            %admin_addr,
            %gateway,
            "mesh-proxy listening as an ingress gateway (routes of the VirtualServices bound to it)"
        ),
    }
    let mut addresses = format!("outbound={outbound_addr}\nadmin={admin_addr}\n");
    if let Some(inbound) = &inbound {
        let inbound_addr = inbound.local_addr()?;
        tracing::info!(
            %inbound_addr,
            app = ?settings.app,
            app_addr_file = ?settings.app_addr_file,
            "inbound listening"
        );
        addresses.push_str(&format!("inbound={inbound_addr}\n"));
    }
    if let Some(path) = &settings.addr_file {
        let tmp = path.with_extension("addr.tmp");
        std::fs::write(&tmp, addresses)
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("--addr-file {}: cannot write", path.display()))?;
    }
    Ok(Listeners {
        outbound,
        admin,
        inbound,
    })
}
