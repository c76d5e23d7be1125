//! `mesh-proxy`: parse the command line, bind, run until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Exit status for a bad command line or an address that cannot be bound (EX_USAGE / EX_CONFIG
/// spirit: the operator must fix the invocation).
const EXIT_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let settings = match mesh_proxy::Settings::try_parse() {
        Ok(settings) => settings,
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let listeners = match bind(&settings).await {
        Ok(listeners) => listeners,
        Err(error) => {
            eprintln!("mesh-proxy: {error:#}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    mesh_proxy::run_with(settings, listeners, shutdown).await;
    ExitCode::SUCCESS
}

/// Bind the listeners and write their addresses to `--addr-file`, if asked.
async fn bind(settings: &mesh_proxy::Settings) -> anyhow::Result<mesh_proxy::Listeners> {
    use anyhow::Context as _;
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
    tracing::info!(%outbound_addr, %admin_addr, "mesh-proxy listening");
    let mut addresses = format!("outbound={outbound_addr}\nadmin={admin_addr}\n");
    if let Some(inbound) = &inbound {
        let inbound_addr = inbound.local_addr()?;
        tracing::info!(%inbound_addr, app = ?settings.app, "inbound listening");
        addresses.push_str(&format!("inbound={inbound_addr}\n"));
    }
    if let Some(path) = &settings.addr_file {
        std::fs::write(path, addresses)
            .with_context(|| format!("--addr-file {}: cannot write", path.display()))?;
    }
    Ok(mesh_proxy::Listeners {
        outbound,
        admin,
        inbound,
    })
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        } else {
            let _ = ctrl_c.await;
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    shutdown.cancel();
}
