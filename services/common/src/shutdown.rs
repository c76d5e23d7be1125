//! Graceful shutdown.
//!
//! A service stops in two steps: something asks it to stop (a signal), then the server stops
//! accepting connections and lets the requests in flight finish before the process exits. The
//! request to stop travels as a [`Shutdown`] token: cloning it is cheap, any clone can trigger
//! it, and every clone can wait for it. Tests trigger it by hand; binaries trigger it from the
//! signals below.
//!
//! Three things count as "please stop":
//! - Ctrl-C (SIGINT) in the terminal,
//! - SIGTERM, which Kubernetes, docker and the sailkit launcher send first,
//! - end of standard input, when `SAILKIT_EXIT_ON_STDIN_EOF=1`. The launcher gives every child a
//!   pipe as stdin and sets this variable: if the launcher dies without a chance to clean up
//!   (even from SIGKILL), the pipe closes and its children stop instead of lingering.

use std::io::Read;
use std::os::fd::AsFd;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// The token that asks a service to stop. See the module docs.
pub type Shutdown = tokio_util::sync::CancellationToken;

/// The environment variable that makes a service stop when its standard input closes.
pub const EXIT_ON_STDIN_EOF: &str = "SAILKIT_EXIT_ON_STDIN_EOF";

/// Cancels `shutdown` on Ctrl-C, SIGTERM or (when asked for) end of stdin.
pub fn trigger_on_signals(shutdown: Shutdown, watch_stdin: bool) {
    tokio::spawn(async move {
        let reason = tokio::select! {
            r = wait_for_signal() => r,
            r = wait_for_stdin_eof(watch_stdin) => r,
            _ = shutdown.cancelled() => return,
        };
        // Cancel first: if the reason is that the launcher went away, even logging may fail.
        shutdown.cancel();
        tracing::info!(%reason, "shutting down: finishing requests in flight");
    });
}

async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C will stop this service");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

async fn wait_for_stdin_eof(enabled: bool) -> &'static str {
    if !enabled {
        return std::future::pending().await;
    }
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    loop {
        match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => return "the launcher went away (stdin closed)",
            Ok(_) => continue,
        }
    }
}

/// How long an orphaned service may take to stop by itself before [`exit_when_orphaned`] ends it.
const ORPHAN_GRACE: Duration = Duration::from_secs(10);

/// A last resort for a service whose launcher is gone (only with `SAILKIT_EXIT_ON_STDIN_EOF`).
///
/// Normally the service stops by itself when its stdin closes. But a launcher that died took
/// the read ends of our stdout and stderr with it: nobody will read our logs or stop us any
/// more. If the service has not exited [`ORPHAN_GRACE`] after its stdin closed, because
/// something in it is stuck, this thread ends the process, so that no orphan keeps a port. It
/// reads its own duplicate of stdin's descriptor, so it does not contend for `std::io::stdin()`.
pub fn exit_when_orphaned() {
    let watch = std::env::var(EXIT_ON_STDIN_EOF).is_ok_and(|v| v == "1" || v == "true");
    if !watch {
        return;
    }
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return;
    };
    std::thread::spawn(move || {
        let mut stdin = std::fs::File::from(fd);
        let mut buf = [0u8; 64];
        // The launcher never writes; only the end of the pipe (or an error) matters.
        while let Ok(1..) = stdin.read(&mut buf) {}
        std::thread::sleep(ORPHAN_GRACE);
        std::process::exit(1);
    });
}
