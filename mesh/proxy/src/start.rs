//! The start path of a sidecar, shared by the `mesh-proxy` binary and `sailkit proxy`: build the
//! runtime `--workers` asks for, [`bind`](crate::bind) the listeners, run them until shutdown,
//! and turn each way of failing into its exit status.
//!
//! Only what stops the proxy differs between the two binaries, so the caller passes it in:
//! `mesh-proxy` stops on Ctrl-C or SIGTERM ([`stop_on_signal`]); under the launcher,
//! `sailkit proxy` also stops when its standard input closes, so that a sidecar never outlives
//! the `sailkit up` that started it.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::Settings;

/// Exit status for listeners that cannot be bound, an address file that cannot be written or a
/// `--control-plane` proxy with no id (EX_USAGE spirit: the operator must fix the invocation, as with a bad command line).
pub const EXIT_CONFIG: u8 = 64;

/// Runs a proxy with `settings` until the token handed to `arm_shutdown` is cancelled.
///
/// `program` prefixes the messages printed to stderr. `arm_shutdown` is called inside the
/// runtime, before the listeners are bound and `--addr-file` is written, so it may spawn the
/// task that waits for a signal: a launcher that reads the file and sends SIGTERM at once finds
/// the signal handled.
pub fn start(
    settings: Settings,
    program: &str,
    arm_shutdown: impl FnOnce(CancellationToken),
) -> ExitCode {
    // With `--control-plane` the proxy must be able to say who it is.
    if settings.control_plane.is_some()
        && let Err(error) = settings.proxy_id()
    {
        eprintln!("{program}: {error}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match settings.runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{program}: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        arm_shutdown(shutdown.clone());
        let listeners = match crate::bind(&settings).await {
            Ok(listeners) => listeners,
            Err(error) => {
                eprintln!("{program}: {error:#}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        crate::run_with(settings, listeners, shutdown).await;
        ExitCode::SUCCESS
    });
    // A task waiting for a signal (or in a blocking read of stdin) may still be there: the
    // proxy has drained, so do not wait for it.
    runtime.shutdown_background();
    code
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM. Call it inside the runtime.
///
/// The handlers are installed here, before this returns, not in the task that waits: until a
/// handler is installed the signal's default action applies, and SIGTERM would kill the proxy
/// instead of draining it.
pub fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        tokio::spawn(async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (Ok(mut only), Err(_)) | (Err(_), Ok(mut only)) => {
                    only.recv().await;
                }
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    });
}
