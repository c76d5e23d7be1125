//! The life of one sidecar (`<instance>-sidecar`, a `sailkit proxy` process) (the mesh is on unless `--no-mesh`).
//!
//! 1. **start** it before its instance (the instance needs its outbound address as
//!    `HTTP_PROXY` from its first request) and wait for its address file;
//! 2. the launcher writes the registry once the instances are up, then waits for the sidecar's
//!    admin `/ready` ([`wait_ready`]): ready means a registry and a valid config are loaded;
//! 3. **watch** it: a sidecar that exits is reported loudly (its instance can no longer reach
//!    its peers); it is not restarted, restarting the stack is the cure;
//! 4. **stop** it after its instance, so the instance's last requests still get through.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::error::UpError;
use super::instance::{START_TIMEOUT, STOP_GRACE, Shared};
use super::logs::LogSink;
use super::mesh;
use super::process::{self, Stopped};

/// One sidecar to run.
#[derive(Debug)]
pub struct SidecarConfig {
    /// `reviews-v2-sidecar`.
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub addr_file: PathBuf,
    pub sink: LogSink,
}

/// A sidecar that is listening.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub pid: u32,
    /// The application's `HTTP_PROXY`.
    pub outbound: SocketAddr,
    /// `/ready`, `/config_dump`, `/stats`.
    pub admin: SocketAddr,
}

/// Runs the sidecar until `shutdown`; its addresses (or why it could not start) go to `started`.
pub async fn run(
    config: SidecarConfig,
    shared: Arc<Shared>,
    started: oneshot::Sender<Result<Listening, UpError>>,
    shutdown: CancellationToken,
) {
    let _ = std::fs::remove_file(&config.addr_file);
    let name = config.name.clone();
    let mut child = match process::spawn_args(&shared.exe, &config.args, &config.env, &config.sink)
    {
        Ok(child) => child,
        Err(source) => {
            let _ = started.send(Err(UpError::Spawn {
                instance: name,
                source,
            }));
            return;
        }
    };
    let addrs = async {
        loop {
            if let Some(addrs) = mesh::read_sidecar_addrs(&config.addr_file) {
                return addrs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let (outbound, admin) = tokio::select! {
        addrs = addrs => addrs,
        status = child.wait() => {
            child.drain_output().await;
            let _ = started.send(Err(UpError::ExitedDuringStart {
                instance: name,
                status: process::describe(status),
            }));
            return;
        }
        () = tokio::time::sleep(START_TIMEOUT) => {
            let _ = child.stop(STOP_GRACE).await;
            let _ = started.send(Err(UpError::NotHealthy {
                instance: name,
                seconds: START_TIMEOUT.as_secs(),
                last_error: "it wrote no address file".into(),
            }));
            return;
        }
        () = shutdown.cancelled() => {
            let _ = child.stop(STOP_GRACE).await;
            return;
        }
    };
    let _ = started.send(Ok(Listening {
        pid: child.pid(),
        outbound,
        admin,
    }));

    tokio::select! {
        status = child.wait() => {
            child.drain_output().await;
            shared.console.alarm(&format!(
                "{name} (pid {}) exited: {}; its instance cannot reach its peers until the stack is restarted",
                child.pid(),
                process::describe(status)
            ));
            shutdown.cancelled().await;
        }
        () = shutdown.cancelled() => {
            config.sink.note("stopping (SIGTERM)");
            if let Stopped::Killed = child.stop(STOP_GRACE).await {
                shared.console.alarm(&format!("{name} did not stop in time and was killed"));
            }
            child.drain_output().await;
        }
    }
    let _ = std::fs::remove_file(&config.addr_file);
}

/// Waits until the sidecar's admin `/ready` answers 200, within [`START_TIMEOUT`].
pub async fn wait_ready(
    client: &reqwest::Client,
    name: &str,
    admin: SocketAddr,
) -> Result<(), UpError> {
    let url = format!("http://{admin}/ready");
    let mut last_error = String::from("no answer yet");
    let poll = async {
        loop {
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => {
                    last_error = format!("GET {url} answered {}", response.status());
                }
                Err(error) => last_error = format!("GET {url} failed: {error}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    match tokio::time::timeout(START_TIMEOUT, poll).await {
        Ok(()) => Ok(()),
        Err(_) => Err(UpError::NotHealthy {
            instance: name.to_string(),
            seconds: START_TIMEOUT.as_secs(),
            last_error,
        }),
    }
}
