//! `sailkit control`: the mesh's control plane (`mesh-control`), run from this binary, as
//! `sailkit proxy` runs the sidecar. The flags are `mesh-control`'s own
//! ([`mesh_control::Settings`]); only what stops it is this binary's: Ctrl-C, SIGTERM or (under
//! the launcher) the end of stdin.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

/// `sailkit control ...`, from the parsed flags to the exit code.
pub fn main(settings: mesh_control::Settings) -> ExitCode {
    common::telemetry::init();
    common::shutdown::exit_when_orphaned();
    let watch_stdin = std::env::var(common::shutdown::EXIT_ON_STDIN_EOF).is_ok_and(|v| v == "1");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sailkit control: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        common::shutdown::trigger_on_signals(shutdown.clone(), watch_stdin);
        match mesh_control::run(settings, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("sailkit control: {error:#}");
                ExitCode::FAILURE
            }
        }
    });
    // Without waiting for the blocking thread that reads stdin (the launcher keeps it open):
    // dropping the runtime would wait for it, and the launcher would kill us after its grace.
    runtime.shutdown_background();
    code
}
