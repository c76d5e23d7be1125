//! How a start can fail ([`Failed`]), how the launcher reports it, and the wait for a started
//! child's address file that sidecars and the control plane share.

use std::process::ExitStatus;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{START_TIMEOUT, STOP_GRACE};
use crate::up::error::UpError;
use crate::up::process::{self, ChildProcess};

/// Why a start did not give a ready child. The child process itself, if there was one, has
/// already been stopped (and reported, where its kind reports it) by [`Supervised::start`].
pub enum Failed {
    Spawn(std::io::Error),
    Exited(ExitStatus),
    /// Not ready within [`START_TIMEOUT`]; the last thing the readiness check saw.
    TimedOut(String),
    /// The launcher is stopping.
    Shutdown,
}

/// Waits until `read` finds a started child's addresses (in the address file it writes once
/// listening), checking every 50 ms; the child's exit, [`START_TIMEOUT`] or `shutdown` end the
/// wait, stopping the child where it still runs.
pub async fn wait_for_addresses<T>(
    child: &mut ChildProcess,
    read: impl Fn() -> Option<T>,
    shutdown: &CancellationToken,
) -> Result<T, Failed> {
    let addresses = async {
        loop {
            if let Some(found) = read() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        found = addresses => Ok(found),
        status = child.wait() => {
            child.drain_output().await;
            Err(Failed::Exited(status))
        }
        () = tokio::time::sleep(START_TIMEOUT) => {
            let _ = child.stop(STOP_GRACE).await;
            Err(Failed::TimedOut("it wrote no address file".into()))
        }
        () = shutdown.cancelled() => {
            let _ = child.stop(STOP_GRACE).await;
            Err(Failed::Shutdown)
        }
    }
}

impl Failed {
    /// The start-up error of the child called `instance`, as the launcher reports it.
    pub fn into_start_error(self, instance: String) -> UpError {
        match self {
            Failed::Spawn(source) => UpError::Spawn { instance, source },
            Failed::Exited(status) => UpError::ExitedDuringStart {
                instance,
                status: process::describe(status),
            },
            Failed::TimedOut(last_error) => UpError::NotHealthy {
                instance,
                seconds: START_TIMEOUT.as_secs(),
                last_error,
            },
            // Never reported: the launcher is stopping.
            Failed::Shutdown => UpError::ExitedDuringStart {
                instance,
                status: "stopped by the launcher".into(),
            },
        }
    }
}
