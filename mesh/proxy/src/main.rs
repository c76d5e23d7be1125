//! `mesh-proxy`: raise the open-file limit, parse the command line, start the runtime
//! `--workers` asks for, bind, run
//! until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser as _;
use tokio_util::sync::CancellationToken;

/// mimalloc instead of the system allocator: a proxy allocates and frees small buffers for
/// every request, and mimalloc does that in fewer instructions, without glibc's consolidation
/// passes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for a bad command line or an address that cannot be bound (EX_USAGE / EX_CONFIG
/// spirit: the operator must fix the invocation).
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // Each connection is a file descriptor: take all the hard limit allows.
    if let Err(error) = listener::raise_file_limit() {
        tracing::warn!(%error, "cannot raise the open-file limit");
    }
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
    let runtime = match settings.runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mesh-proxy: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(settings))
}

async fn serve(settings: mesh_proxy::Settings) -> ExitCode {
    let listeners = match mesh_proxy::bind(&settings).await {
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
