//! `mesh-proxy`: raise the open-file limit, parse the command line, then take the start path
//! `sailkit proxy` takes too ([`mesh_proxy::start`]), stopping on Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc instead of the system allocator: a proxy allocates and frees small buffers for
/// every request, and mimalloc does that in fewer instructions, without glibc's consolidation
/// passes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
            return ExitCode::from(mesh_proxy::start::EXIT_CONFIG);
        }
    };
    mesh_proxy::start(settings, "mesh-proxy", mesh_proxy::start::stop_on_signal)
}
