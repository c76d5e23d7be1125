//! The life of the mesh's control plane (`sailkit-control`, a `sailkit control` process), with
//! the mesh (unless `--no-control-plane`). In Istio, istiod knows the workloads and the configuration and
//! pushes each proxy what it needs; here it keeps the config in `<data-dir>/mesh/config/` (which
//! `sailkit apply` and `sailkit delete` change through its Config API) and learns the workloads
//! from the proxies themselves: every sidecar registers its instance's address when it connects.
//!
//! 1. **start** it first, before any proxy, on the stack's control-plane port (9089 by default;
//!    with `--port-base 0`, the port the system picks at the first start), and wait for its
//!    address file and its admin `/ready` (the config folder is loaded);
//! 2. **watch** it and, unless `--no-restart`, **restart** it after the usual back-off on the
//!    **same** addresses: every proxy reconnects to the address it was given. While it is down
//!    the proxies keep routing with the last snapshot they have; no request fails for it;
//! 3. **stop** it last, after the proxies.
//!
//! The loop is `supervise.rs`'s, shared with the instances and the sidecars.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::error::UpError;
use super::instance::Shared;
use super::logs::LogSink;
use super::process::{self, ChildProcess, Stopped};
use super::sidecar;
use super::supervise::{self, Failed, STOP_GRACE, Supervised};

mod sync;
pub use sync::wait_synced;

/// Its process name, in the tables and the logs.
pub const NAME: &str = "sailkit-control";

/// The control plane to run.
#[derive(Debug)]
pub struct ControlConfig {
    /// The config folder it serves (`<data-dir>/mesh/config`).
    pub config_dir: PathBuf,
    /// Its gRPC port at the first start (0: any).
    pub grpc_port: u16,
    /// Where it writes `grpc=ADDR` and `admin=ADDR` once listening.
    pub addr_file: PathBuf,
    pub env: Vec<(String, String)>,
    pub sink: LogSink,
}

/// The control plane, listening.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub pid: u32,
    /// Where the proxies connect, and `sailkit proxy-status` asks.
    pub grpc: SocketAddr,
    /// `/ready`, `/config_dump`, `/proxies`, `/metrics`.
    pub admin: SocketAddr,
}

/// Runs the control plane until `shutdown`; its addresses (or why it could not start) go to
/// `started`.
pub async fn run(
    config: ControlConfig,
    shared: Arc<Shared>,
    started: oneshot::Sender<Result<Listening, UpError>>,
    shutdown: CancellationToken,
) {
    let control = Control {
        config,
        shared: shared.clone(),
    };
    supervise::supervise(control, shared, started, shutdown).await;
}

struct Control {
    config: ControlConfig,
    shared: Arc<Shared>,
}

impl Supervised for Control {
    type Up = Listening;
    type Report = Listening;

    /// 1. Start, on the given port or, for a restart, on the addresses it had.
    async fn start(
        &mut self,
        previous: Option<&Listening>,
        shutdown: &CancellationToken,
    ) -> Result<(ChildProcess, Listening), Failed> {
        let listening = start(&self.config, &self.shared, previous.copied(), shutdown).await?;
        let (child, listening) = listening;
        // Ready means its config folder is loaded: a proxy connecting now gets real routing.
        if let Err(error) = sidecar::wait_ready(&self.shared.probe, NAME, listening.admin).await {
            let mut child = child;
            let _ = child.stop(STOP_GRACE).await;
            return Err(Failed::TimedOut(error.to_string()));
        }
        Ok((child, listening))
    }

    fn first_ready(&mut self, _: &ChildProcess, listening: &Listening) -> Listening {
        *listening
    }

    fn start_error(&self, failed: Failed) -> UpError {
        failed.into_start_error(NAME.to_string())
    }

    async fn crashed(&mut self, child: &mut ChildProcess, status: std::process::ExitStatus) {
        child.drain_output().await;
        let how = process::describe(status);
        self.config
            .sink
            .note(&format!("exited unexpectedly: {how}"));
        self.shared.console.alarm(&format!(
            "{NAME} (pid {}) exited: {how}; the proxies keep routing with the last config they \
             have, and get no change until it is back",
            child.pid()
        ));
    }

    fn stays_stopped(&self) -> String {
        format!("{NAME} stays stopped (--no-restart); restarting the stack is the cure")
    }

    fn restarting(&self, backoff: Duration, listening: &Listening) -> String {
        format!(
            "restarting {NAME} in {} s on the same addresses (gRPC {}, admin {})",
            backoff.as_secs(),
            listening.grpc,
            listening.admin
        )
    }

    fn restart_failed(&self, failed: &Failed, listening: &Listening) {
        let console = &self.shared.console;
        match failed {
            Failed::Spawn(error) => console.alarm(&format!("cannot start {NAME} again: {error}")),
            Failed::Exited(status) => console.alarm(&format!(
                "{NAME} could not start again on gRPC {} / admin {} ({}; its last lines are in \
                 its log)",
                listening.grpc,
                listening.admin,
                process::describe(*status)
            )),
            Failed::TimedOut(why) => console.alarm(&format!("{NAME} is not ready again: {why}")),
            Failed::Shutdown => {}
        }
    }

    async fn back(&mut self, child: &ChildProcess, listening: &Listening) {
        let pid = child.pid();
        self.shared.state.set_control_plane_pid(pid);
        self.shared.console.good(&format!(
            "{} is back (pid {pid}); the proxies reconnect to grpc://{}",
            self.shared.console.bold(NAME),
            listening.grpc
        ));
    }

    /// 3. Stop (the launcher is stopping), after every proxy.
    async fn stop(&mut self, child: &mut ChildProcess) {
        self.config.sink.note("stopping (SIGTERM)");
        if let Stopped::Killed = child.stop(STOP_GRACE).await {
            self.shared
                .console
                .alarm(&format!("{NAME} did not stop in time and was killed"));
        }
        child.drain_output().await;
    }

    fn cleanup(&self) {
        let _ = std::fs::remove_file(&self.config.addr_file);
    }
}

/// `control --config-dir DIR --grpc ADDR --admin ADDR --addr-file FILE`: the addresses it had
/// for a restart, else the given gRPC port and any admin port.
fn args(
    config_dir: &Path,
    grpc_port: u16,
    addr_file: &Path,
    previous: Option<Listening>,
) -> Vec<String> {
    let (grpc, admin) = match previous {
        Some(l) => (l.grpc.to_string(), l.admin.to_string()),
        None => (format!("127.0.0.1:{grpc_port}"), "127.0.0.1:0".to_string()),
    };
    vec![
        "control".into(),
        "--config-dir".into(),
        config_dir.display().to_string(),
        "--grpc".into(),
        grpc,
        "--admin".into(),
        admin,
        "--addr-file".into(),
        addr_file.display().to_string(),
    ]
}

/// The addresses in the control plane's address file: `grpc=ADDR` and `admin=ADDR`.
pub fn read_addrs(path: &Path) -> Option<(SocketAddr, SocketAddr)> {
    let text = std::fs::read_to_string(path).ok()?;
    let find = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((find("grpc")?, find("admin")?))
}

/// Spawns the control plane and waits for its address file.
async fn start(
    config: &ControlConfig,
    shared: &Shared,
    previous: Option<Listening>,
    shutdown: &CancellationToken,
) -> Result<(ChildProcess, Listening), Failed> {
    let _ = std::fs::remove_file(&config.addr_file);
    let mut child = process::spawn_args(
        &shared.exe,
        &args(
            &config.config_dir,
            config.grpc_port,
            &config.addr_file,
            previous,
        ),
        &config.env,
        &config.sink,
    )
    .map_err(Failed::Spawn)?;
    config.sink.note(&format!("started pid {}", child.pid()));
    let (grpc, admin) =
        supervise::wait_for_addresses(&mut child, || read_addrs(&config.addr_file), shutdown)
            .await?;
    let pid = child.pid();
    Ok((child, Listening { pid, grpc, admin }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_binds_the_addresses_of_the_first_start() {
        let (dir, file) = (
            Path::new("/d/mesh/config"),
            Path::new("/d/run/control.addr"),
        );
        let first = args(dir, 9089, file, None);
        assert!(first.windows(2).any(|w| w == ["--grpc", "127.0.0.1:9089"]));
        let previous = Listening {
            pid: 1,
            grpc: "127.0.0.1:9089".parse().expect("addr"),
            admin: "127.0.0.1:41000".parse().expect("addr"),
        };
        let again = args(dir, 9089, file, Some(previous));
        assert!(
            again
                .windows(2)
                .any(|w| w == ["--admin", "127.0.0.1:41000"])
        );
    }

    #[test]
    fn reads_both_addresses_from_the_address_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("control.addr");
        std::fs::write(&path, "grpc=127.0.0.1:9089\nadmin=127.0.0.1:41000\n").expect("write");
        let (grpc, admin) = read_addrs(&path).expect("both");
        assert_eq!((grpc.port(), admin.port()), (9089, 41000));
        std::fs::write(&path, "grpc=127.0.0.1:9089\n").expect("write");
        assert!(read_addrs(&path).is_none());
    }
}
