//! The life of one instance, from start to stop: the launcher's kubelet.
//!
//! Each instance gets a task of its own running [`run`]:
//! 1. **start** the process and **wait until it is ready** (address file, then `/health`),
//!    within [`START_TIMEOUT`]; tell the launcher how it went.
//! 2. **watch** it. If it exits while the stack is up, that is a crash: its endpoint is marked
//!    not ready at once (the VIP stops sending it requests), the reason is printed loudly, and,
//!    unless `--no-restart`, it is **restarted** on the same port after a back-off that doubles
//!    with each crash in a row (1 s, 2 s, 4 s, ... up to 30 s), as Kubernetes does.
//! 3. **stop** it when the launcher stops: SIGTERM, then SIGKILL after [`STOP_GRACE`].

use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::console::Console;
use super::error::UpError;
use super::health;
use super::logs::LogSink;
use super::plan::InstanceSpec;
use super::ports::PortPlan;
use super::process::{self, ChildProcess, Stopped};
use super::state::StateFile;
use crate::service_proxy::Endpoint;

/// How long an instance may take to become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The signal number of SIGTERM, the polite "please stop".
const SIGTERM: i32 = nix::sys::signal::Signal::SIGTERM as i32;
/// How long a stopping instance may take to finish its requests before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// An instance that ran this long before crashing starts its back-off from the beginning.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One instance to run.
#[derive(Debug)]
pub struct InstanceConfig {
    pub spec: InstanceSpec,
    /// The port asked for; 0 lets the system choose (then restarts reuse the chosen one).
    pub port: u16,
    /// The complete environment from the plan.
    pub env: Vec<(String, String)>,
    /// Where its VIP sends its requests when not to the instance itself: its sidecar's inbound
    /// listener, with the mesh.
    pub front: Option<SocketAddr>,
    pub addr_file: PathBuf,
    pub sink: LogSink,
}

/// What every instance task shares.
#[derive(Debug)]
pub struct Shared {
    /// This executable, which the instances run as `sailkit serve ...`.
    pub exe: PathBuf,
    pub console: Console,
    pub state: Arc<StateFile>,
    pub ports: PortPlan,
    /// Restart instances that crash.
    pub restart: bool,
    pub probe: reqwest::Client,
}

/// An instance that became ready.
#[derive(Debug)]
pub struct Ready {
    /// What its VIP sends requests to (its sidecar's inbound listener, with the mesh).
    pub endpoint: Arc<Endpoint>,
    /// The instance's own address.
    pub addr: SocketAddr,
    pub pid: u32,
}

/// How waiting for readiness ended.
enum Wait {
    Ready(SocketAddr),
    Exited(std::process::ExitStatus),
    TimedOut(String),
    Shutdown,
}

/// Runs the instance until `shutdown`. The first readiness result goes to `started`; if the
/// instance cannot start, the task reports it there and ends.
pub async fn run(
    config: InstanceConfig,
    shared: Arc<Shared>,
    started: oneshot::Sender<Result<Ready, UpError>>,
    shutdown: CancellationToken,
) {
    let name = config.spec.name.clone();
    let began = Instant::now();

    // 1. Start and wait until ready.
    let mut child = match start(&config, &shared, config.port) {
        Ok(child) => child,
        Err(error) => {
            let _ = started.send(Err(error));
            return;
        }
    };
    let addr = match wait_ready(&mut child, &config, &shared, &shutdown).await {
        Wait::Ready(addr) => addr,
        Wait::Exited(status) => {
            report_exit(&mut child, &config, &shared, status, "during start-up").await;
            let _ = started.send(Err(start_failure(&config, &shared, status)));
            return;
        }
        Wait::TimedOut(last_error) => {
            stop(&mut child, &config, &shared).await;
            let _ = started.send(Err(UpError::NotHealthy {
                instance: name,
                seconds: START_TIMEOUT.as_secs(),
                last_error,
            }));
            return;
        }
        Wait::Shutdown => {
            stop(&mut child, &config, &shared).await;
            return;
        }
    };
    let endpoint = Endpoint::new(name.clone(), config.front.unwrap_or(addr));
    endpoint.set_ready(true);
    shared.console.good(&format!(
        "{} ready after {:.1} s at http://{addr} (pid {})",
        shared.console.bold(&name),
        began.elapsed().as_secs_f64(),
        child.pid()
    ));
    let _ = started.send(Ok(Ready {
        endpoint: endpoint.clone(),
        addr,
        pid: child.pid(),
    }));

    // 2. Watch, and restart after a crash.
    let mut backoff = FIRST_BACKOFF;
    loop {
        let running_since = Instant::now();
        let status = tokio::select! {
            status = child.wait() => status,
            () = shutdown.cancelled() => {
                // 3. Stop.
                stop(&mut child, &config, &shared).await;
                return;
            }
        };
        endpoint.set_ready(false);
        shared.state.set_pid(&name, None);
        report_exit(&mut child, &config, &shared, status, "unexpectedly").await;
        shared.console.alarm(&format!(
            "the {} VIP no longer sends requests to {name}",
            config.spec.vip
        ));
        if !shared.restart {
            shared
                .console
                .alarm(&format!("{name} stays stopped (--no-restart)"));
            shutdown.cancelled().await;
            return;
        }
        if running_since.elapsed() > STABLE_AFTER {
            backoff = FIRST_BACKOFF;
        }

        // Restart until it is ready again, waiting longer after each failure.
        loop {
            shared
                .console
                .say(&format!("restarting {name} in {} s", backoff.as_secs()));
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            child = match start(&config, &shared, addr.port()) {
                Ok(child) => child,
                Err(error) => {
                    shared.console.alarm(&error.to_string());
                    continue;
                }
            };
            match wait_ready(&mut child, &config, &shared, &shutdown).await {
                Wait::Ready(_) => break,
                Wait::Exited(status) => {
                    report_exit(&mut child, &config, &shared, status, "while restarting").await;
                }
                Wait::TimedOut(last_error) => {
                    shared.console.alarm(&format!(
                        "{name} did not become healthy again: {last_error}"
                    ));
                    stop(&mut child, &config, &shared).await;
                }
                Wait::Shutdown => {
                    stop(&mut child, &config, &shared).await;
                    return;
                }
            }
        }
        endpoint.set_ready(true);
        shared.state.set_pid(&name, Some(child.pid()));
        shared.console.good(&format!(
            "{} is back (pid {}); the {} VIP sends it requests again",
            shared.console.bold(&name),
            child.pid(),
            config.spec.vip
        ));
    }
}

/// Spawns the process on `port`, after removing the address file of any earlier run (a stale
/// address would look like an instant start).
fn start(config: &InstanceConfig, shared: &Shared, port: u16) -> Result<ChildProcess, UpError> {
    let _ = std::fs::remove_file(&config.addr_file);
    let child = process::spawn(
        &shared.exe,
        config.spec.service,
        port,
        &config.env,
        &config.sink,
    )
    .map_err(|source| UpError::Spawn {
        instance: config.spec.name.clone(),
        source,
    })?;
    config
        .sink
        .note(&format!("started pid {} on port {port}", child.pid()));
    Ok(child)
}

/// Waits until the instance is ready, exits, takes too long, or the launcher stops.
async fn wait_ready(
    child: &mut ChildProcess,
    config: &InstanceConfig,
    shared: &Shared,
    shutdown: &CancellationToken,
) -> Wait {
    let mut last_error = String::from("no answer yet");
    let result = tokio::select! {
        addr = health::wait_ready(&config.addr_file, &shared.probe, &mut last_error) => Ok(addr),
        status = child.wait() => Err(Some(status)),
        () = tokio::time::sleep(START_TIMEOUT) => Err(None),
        () = shutdown.cancelled() => return Wait::Shutdown,
    };
    match result {
        Ok(addr) => Wait::Ready(addr),
        Err(Some(status)) => Wait::Exited(status),
        Err(None) => Wait::TimedOut(last_error),
    }
}

/// Prints, loudly, that the instance exited and the last lines it wrote.
async fn report_exit(
    child: &mut ChildProcess,
    config: &InstanceConfig,
    shared: &Shared,
    status: std::process::ExitStatus,
    when: &str,
) {
    child.drain_output().await;
    let how = process::describe(status);
    config.sink.note(&format!("exited {when}: {how}"));
    let name = &config.spec.name;
    shared.console.alarm(&format!(
        "{name} (pid {}) exited {when}: {how}",
        child.pid()
    ));
    let lines = config.sink.tail.lines();
    if !lines.is_empty() {
        shared
            .console
            .alarm(&format!("last lines of {name} (all in its log file):"));
        for line in lines {
            shared.console.say(&format!("    {line}"));
        }
    }
}

/// The error for an instance that exited before it was ready.
fn start_failure(
    config: &InstanceConfig,
    shared: &Shared,
    status: std::process::ExitStatus,
) -> UpError {
    let cannot_bind = status.code() == Some(i32::from(common::service::EXIT_CANNOT_BIND));
    if cannot_bind && config.port != 0 {
        UpError::PortInUse {
            port: config.port,
            wanted_by: format!("instance {}", config.spec.name),
            suggestion: shared.ports.suggestion(),
        }
    } else {
        UpError::ExitedDuringStart {
            instance: config.spec.name.clone(),
            status: process::describe(status),
        }
    }
}

/// Stops the process, saying so only when it did not go quietly.
async fn stop(child: &mut ChildProcess, config: &InstanceConfig, shared: &Shared) {
    config.sink.note("stopping (SIGTERM)");
    let name = &config.spec.name;
    match child.stop(STOP_GRACE).await {
        // Exiting on SIGTERM without handling it (a process still starting up) is a clean stop too.
        Stopped::Exited(status) if status.success() || status.signal() == Some(SIGTERM) => {
            config.sink.note("stopped")
        }
        Stopped::Exited(status) => {
            let how = process::describe(status);
            config.sink.note(&format!("stopped: {how}"));
            shared.console.say(&format!("{name} stopped with {how}"));
        }
        Stopped::Killed => {
            config.sink.note("killed after the grace period");
            shared.console.alarm(&format!(
                "{name} did not stop within {} s and was killed",
                STOP_GRACE.as_secs()
            ));
        }
    }
    child.drain_output().await;
    let _ = std::fs::remove_file(&config.addr_file);
}
