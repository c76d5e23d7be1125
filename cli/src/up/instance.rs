//! The life of one instance, from start to stop: the launcher's kubelet for an instance, given
//! to the supervisor (`supervise.rs`), which starts, watches, restarts and stops it.
//!
//! What is particular to an instance:
//! - it is **ready** once it has written its address file and answers `/health`;
//! - a **crash** takes its endpoint out of its VIP at once (the VIP stops sending it requests),
//!   and its last lines are printed loudly;
//! - it is **restarted** on the same port, and its VIP sends it requests again once it is back;
//! - it is **stopped** with SIGTERM, then SIGKILL after `STOP_GRACE` (5 s); only a stop that was not
//!   quiet is reported.

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
use super::supervise::{self, Failed, Supervised};
use super::supervise::{START_TIMEOUT, STOP_GRACE};
use crate::service_proxy::Endpoint;

/// The signal number of SIGTERM, the polite "please stop".
const SIGTERM: i32 = nix::sys::signal::Signal::SIGTERM as i32;

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
    /// Where every proxy and instance sends its spans (`http://127.0.0.1:<port>`): the mesh
    /// dashboard's OTLP receiver, when it runs.
    pub otlp: Option<String>,
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

/// Runs the instance until `shutdown`. The first readiness result goes to `started`; if the
/// instance cannot start, the task reports it there and ends.
pub async fn run(
    config: InstanceConfig,
    shared: Arc<Shared>,
    started: oneshot::Sender<Result<Ready, UpError>>,
    shutdown: CancellationToken,
) {
    let instance = Instance {
        began: Instant::now(),
        endpoint: None,
        shared: shared.clone(),
        config,
    };
    supervise::supervise(instance, shared, started, shutdown).await;
}

/// One instance under supervision.
struct Instance {
    config: InstanceConfig,
    shared: Arc<Shared>,
    /// When the launcher started it, for the "ready after" line.
    began: Instant,
    /// What its VIP sends requests to, once it has been ready.
    endpoint: Option<Arc<Endpoint>>,
}

impl Instance {
    fn name(&self) -> &str {
        &self.config.spec.name
    }

    fn set_ready(&self, ready: bool) {
        if let Some(endpoint) = &self.endpoint {
            endpoint.set_ready(ready);
        }
    }
}

impl Supervised for Instance {
    /// The instance's own address.
    type Up = SocketAddr;
    type Report = Ready;

    /// Spawns it (on the port it had, for a restart) and waits for `/health`. A process that
    /// did not get there is reported and stopped here.
    async fn start(
        &mut self,
        previous: Option<&SocketAddr>,
        shutdown: &CancellationToken,
    ) -> Result<(ChildProcess, SocketAddr), Failed> {
        let (config, shared) = (&self.config, &*self.shared);
        let port = previous.map_or(config.port, SocketAddr::port);
        let mut child = start(config, shared, port).map_err(Failed::Spawn)?;
        match wait_ready(&mut child, config, shared, shutdown).await {
            Ok(addr) => Ok((child, addr)),
            Err(Failed::Exited(status)) => {
                let when = match previous {
                    None => "during start-up",
                    Some(_) => "while restarting",
                };
                report_exit(&mut child, config, shared, status, when).await;
                Err(Failed::Exited(status))
            }
            Err(Failed::TimedOut(last_error)) => {
                if previous.is_some() {
                    shared.console.alarm(&format!(
                        "{} did not become healthy again: {last_error}",
                        self.name()
                    ));
                }
                stop(&mut child, config, shared).await;
                Err(Failed::TimedOut(last_error))
            }
            Err(failed) => {
                stop(&mut child, config, shared).await;
                Err(failed)
            }
        }
    }

    fn first_ready(&mut self, child: &ChildProcess, addr: &SocketAddr) -> Ready {
        let name = self.name().to_string();
        let endpoint = Endpoint::new(name.clone(), self.config.front.unwrap_or(*addr));
        endpoint.set_ready(true);
        self.endpoint = Some(endpoint.clone());
        let console = &self.shared.console;
        console.good(&format!(
            "{} ready after {:.1} s at http://{addr} (pid {})",
            console.bold(&name),
            self.began.elapsed().as_secs_f64(),
            child.pid()
        ));
        Ready {
            endpoint,
            addr: *addr,
            pid: child.pid(),
        }
    }

    fn start_error(&self, failed: Failed) -> UpError {
        match failed {
            // An instance that exits during its start says why in its own output.
            Failed::Exited(status) => start_failure(&self.config, &self.shared, status),
            other => other.into_start_error(self.name().to_string()),
        }
    }

    async fn crashed(&mut self, child: &mut ChildProcess, status: std::process::ExitStatus) {
        self.set_ready(false);
        let shared = &*self.shared;
        shared.state.set_pid(self.name(), None);
        report_exit(child, &self.config, shared, status, "unexpectedly").await;
        shared.console.alarm(&format!(
            "the {} VIP no longer sends requests to {}",
            self.config.spec.vip,
            self.name()
        ));
    }

    fn stays_stopped(&self) -> String {
        format!("{} stays stopped (--no-restart)", self.name())
    }

    fn restarting(&self, backoff: Duration, _: &SocketAddr) -> String {
        format!("restarting {} in {} s", self.name(), backoff.as_secs())
    }

    fn restart_failed(&self, failed: &Failed, _: &SocketAddr) {
        // An exit or a timeout was reported by `start`, with the process's last lines.
        if let Failed::Spawn(source) = failed {
            self.shared
                .console
                .alarm(&format!("cannot start {}: {source}", self.name()));
        }
    }

    async fn back(&mut self, child: &ChildProcess, _: &SocketAddr) {
        self.set_ready(true);
        let console = &self.shared.console;
        self.shared.state.set_pid(self.name(), Some(child.pid()));
        console.good(&format!(
            "{} is back (pid {}); the {} VIP sends it requests again",
            console.bold(self.name()),
            child.pid(),
            self.config.spec.vip
        ));
    }

    async fn stop(&mut self, child: &mut ChildProcess) {
        stop(child, &self.config, &self.shared).await;
    }

    fn cleanup(&self) {
        let _ = std::fs::remove_file(&self.config.addr_file);
    }
}

/// Spawns the process on `port`, after removing the address file of any earlier run (a stale
/// address would look like an instant start).
fn start(
    config: &InstanceConfig,
    shared: &Shared,
    port: u16,
) -> Result<ChildProcess, std::io::Error> {
    let _ = std::fs::remove_file(&config.addr_file);
    let child = process::spawn(
        &shared.exe,
        config.spec.service,
        port,
        &config.env,
        &config.sink,
    )?;
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
) -> Result<SocketAddr, Failed> {
    let mut last_error = String::from("no answer yet");
    let result = tokio::select! {
        addr = health::wait_ready(&config.addr_file, &shared.probe, &mut last_error) => Ok(addr),
        status = child.wait() => Err(Some(status)),
        () = tokio::time::sleep(START_TIMEOUT) => Err(None),
        () = shutdown.cancelled() => return Err(Failed::Shutdown),
    };
    result.map_err(|exited| match exited {
        Some(status) => Failed::Exited(status),
        None => Failed::TimedOut(last_error),
    })
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
