//! `sailkit proxy`: the mesh sidecar (`mesh-proxy`), run from this binary.
//!
//! Like `sailkit serve`, this makes one executable play every role, so `sailkit up` can start a
//! sidecar beside each instance without a second binary to build and find. The flags are
//! `mesh-proxy`'s own ([`mesh_proxy::Settings`]); like the proxy's own `main`, this binds the
//! listeners with [`mesh_proxy::bind`] (which also writes `--addr-file`) and runs
//! [`mesh_proxy::run_with`], stopping on Ctrl-C, SIGTERM or (under the launcher) the end of stdin.

use std::process::ExitCode;

/// The exit status for listeners that cannot be bound or an address file that cannot be
/// written: the invocation must change, as with a bad command line (as `mesh-proxy` exits).
const EXIT_CONFIG: u8 = 64;

/// `sailkit proxy ...`, from the parsed flags to the exit code.
pub fn main(settings: mesh_proxy::Settings) -> ExitCode {
    common::telemetry::init();
    // The proxy's own runtime (`--workers`: one thread by default), not the services' one.
    let runtime = match settings.runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sailkit proxy: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    common::shutdown::exit_when_orphaned();
    let code = runtime.block_on(async move {
        let listeners = match mesh_proxy::bind(&settings).await {
            Ok(listeners) => listeners,
            Err(error) => {
                eprintln!("sailkit proxy: {error:#}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let shutdown = common::Shutdown::new();
        let watch_stdin =
            std::env::var(common::shutdown::EXIT_ON_STDIN_EOF).is_ok_and(|v| v == "1");
        common::shutdown::trigger_on_signals(shutdown.clone(), watch_stdin);
        mesh_proxy::run_with(settings, listeners, shutdown).await;
        ExitCode::SUCCESS
    });
    // The stdin watcher may still sit in a blocking read; do not wait for it.
    runtime.shutdown_background();
    code
}
