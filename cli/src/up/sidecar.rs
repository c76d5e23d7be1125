//! The life of one sidecar (`<instance>-sidecar`, a `sailkit proxy` process), with the mesh
//! (on unless `--no-mesh`). It runs with its workload's labels (`--labels app=reviews,version=v2`),
//! which a VirtualService's `match[].sourceLabels` compares with.
//!
//! 1. **start** it before its instance (the instance needs its outbound address as
//!    `HTTP_PROXY` from its first request), on ports the system picks, and wait for its address
//!    file. Besides the outbound listener (the instance's calls out) and the admin one, with
//!    `sailkit up --inbound` it has an inbound listener in front of the instance, which the
//!    registry lists as the instance's address: a call between two services crosses the
//!    caller's sidecar, then the callee's.
//!    The sidecar learns where the instance is from the instance's own address file
//!    (`--app-addr-file`, the file the instance writes through `SAILKIT_ADDR_FILE` once it
//!    listens), so the instance binds its port itself, port 0 included, and nobody has to
//!    guess a free port in advance; until the file appears, the inbound listener answers 503;
//! 2. the launcher writes the registry once the instances are up (each has written its address
//!    file), then waits for the sidecar's admin `/ready` ([`wait_ready`]): ready means a
//!    registry and a valid config are loaded and the instance's address is known;
//! 3. **watch** it. A sidecar that exits is reported loudly (while it is down, its instance
//!    cannot reach its peers) and, unless `--no-restart`, **restarted** after the same back-off
//!    as an instance (1 s, 2 s, 4 s, ... up to 30 s; the loop is `supervise.rs`'s, shared
//!    with the instances) on the **same**
//!    addresses, since the instance's `HTTP_PROXY` cannot change under it, nor the registry's
//!    inbound address under its callers.
//!    If those ports cannot be bound again, that is said loudly and the restart retried.
//!    `run/stack.json` gets the new pid;
//! 4. **stop** it after its instance, so the instance's last requests still get through.
//!
//! The ingress gateway (`istio-ingressgateway`) lives the same life: it is a `sailkit proxy`
//! too, with no instance behind it ([`Role::Gateway`]), whose outbound listener is on the
//! stack's gateway port (9088) from the first start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::error::UpError;
use super::instance::Shared;
use super::logs::LogSink;
use super::mesh;
use super::process::{self, ChildProcess, Stopped};
use super::supervise::{self, Failed, START_TIMEOUT, STOP_GRACE, Supervised};

/// Whom the proxy serves: what its messages say, and where its pid goes in `stack.json`.
#[derive(Debug, Clone)]
pub enum Role {
    /// Beside an instance: `reviews-v2`, by its name in `stack.json`.
    Sidecar { instance: String },
    /// The ingress gateway: outside traffic comes in through it.
    Gateway,
}

impl Role {
    /// What is lost while the proxy is down.
    fn while_down(&self) -> String {
        match self {
            Role::Sidecar { instance } => {
                format!("{instance} cannot reach its peers while it is down")
            }
            Role::Gateway => "nothing comes in through the gateway while it is down".into(),
        }
    }

    /// What stays broken while it cannot be started again on its old addresses.
    fn until_back(&self) -> String {
        match self {
            Role::Sidecar { instance } => {
                format!("{instance}'s HTTP_PROXY points at a dead port until it can")
            }
            Role::Gateway => "the gateway's address answers nothing until it can".into(),
        }
    }

    /// What works again once it is back, listening on `outbound`.
    fn back(&self, outbound: SocketAddr) -> String {
        match self {
            Role::Sidecar { instance } => {
                format!("{instance}'s HTTP_PROXY http://{outbound} works again")
            }
            Role::Gateway => format!("outside traffic comes in at http://{outbound} again"),
        }
    }
}

/// One sidecar (or the ingress gateway) to run.
#[derive(Debug)]
pub struct SidecarConfig {
    /// `reviews-v2-sidecar`, `istio-ingressgateway`.
    pub name: String,
    pub role: Role,
    /// The outbound listener's port at the first start; 0 lets the system pick one (a sidecar's
    /// instance learns it from the launcher), the gateway has the stack's own.
    pub outbound_port: u16,
    /// Every flag but the listeners' addresses, which [`run`] adds (see [`mesh::sidecar_args`]).
    pub args: Vec<String>,
    /// The instance's address file (its `SAILKIT_ADDR_FILE`): where the sidecar learns its
    /// instance's address, for its inbound listener or for its registration with the control
    /// plane (`--app-addr-file`).
    pub app_addr_file: Option<PathBuf>,
    /// An inbound listener in front of the instance (`--inbound`; needs `app_addr_file`).
    pub inbound: bool,
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
    /// In front of the instance (with [`SidecarConfig::app_addr_file`]): where peers reach it.
    pub inbound: Option<SocketAddr>,
}

/// Runs the sidecar until `shutdown`; its addresses (or why it could not start) go to `started`.
pub async fn run(
    config: SidecarConfig,
    shared: Arc<Shared>,
    started: oneshot::Sender<Result<Listening, UpError>>,
    shutdown: CancellationToken,
) {
    let sidecar = Sidecar {
        shared: shared.clone(),
        config,
    };
    supervise::supervise(sidecar, shared, started, shutdown).await;
}

/// One sidecar (or the gateway) under supervision.
struct Sidecar {
    config: SidecarConfig,
    shared: Arc<Shared>,
}

impl Supervised for Sidecar {
    /// Its listeners, which a restart binds again.
    type Up = Listening;
    type Report = Listening;

    /// 1. Start, on ports the system picks, or on the same addresses for a restart.
    async fn start(
        &mut self,
        previous: Option<&Listening>,
        shutdown: &CancellationToken,
    ) -> Result<(ChildProcess, Listening), Failed> {
        start(&self.config, &self.shared, previous.copied(), shutdown).await
    }

    fn first_ready(&mut self, _: &ChildProcess, listening: &Listening) -> Listening {
        *listening
    }

    fn start_error(&self, failed: Failed) -> UpError {
        failed.into_start_error(self.config.name.clone())
    }

    /// 3. Watch: a crash is said loudly, with what is lost while it is down.
    async fn crashed(&mut self, child: &mut ChildProcess, status: std::process::ExitStatus) {
        child.drain_output().await;
        let how = process::describe(status);
        self.config
            .sink
            .note(&format!("exited unexpectedly: {how}"));
        self.shared.console.alarm(&format!(
            "{} (pid {}) exited: {how}; {}",
            self.config.name,
            child.pid(),
            self.config.role.while_down()
        ));
    }

    fn stays_stopped(&self) -> String {
        format!(
            "{} stays stopped (--no-restart); restarting the stack is the cure",
            self.config.name
        )
    }

    fn restarting(&self, backoff: Duration, listening: &Listening) -> String {
        format!(
            "restarting {} in {} s on the same addresses (outbound {}, admin {}{})",
            self.config.name,
            backoff.as_secs(),
            listening.outbound,
            listening.admin,
            listening
                .inbound
                .map(|a| format!(", inbound {a}"))
                .unwrap_or_default()
        )
    }

    fn restart_failed(&self, failed: &Failed, listening: &Listening) {
        let name = &self.config.name;
        let console = &self.shared.console;
        match failed {
            Failed::Spawn(error) => console.alarm(&format!("cannot start {name} again: {error}")),
            // `sailkit proxy` exits 64 when a listener cannot be bound: most likely another
            // process took the port while the sidecar was down.
            Failed::Exited(status) => console.alarm(&format!(
                "{name} could not start again on outbound {} / admin {} ({}; its last lines \
                 are in its log): {}",
                listening.outbound,
                listening.admin,
                process::describe(*status),
                self.config.role.until_back()
            )),
            Failed::TimedOut(_) => console.alarm(&format!(
                "{name} wrote no address file within {} s of restarting",
                START_TIMEOUT.as_secs()
            )),
            Failed::Shutdown => {}
        }
    }

    /// Back on the same addresses: `run/stack.json` gets the new pid, and the admin `/ready`
    /// says whether it has loaded its registry and config yet.
    async fn back(&mut self, child: &ChildProcess, listening: &Listening) {
        let (name, shared) = (&self.config.name, &self.shared);
        let pid = child.pid();
        match &self.config.role {
            Role::Sidecar { instance } => shared.state.set_sidecar_pid(instance, pid),
            Role::Gateway => shared.state.set_gateway_pid(pid),
        }
        let ready = match wait_ready(&shared.probe, name, listening.admin).await {
            Ok(()) => "ready".to_string(),
            Err(error) => format!("not ready yet ({error})"),
        };
        shared.console.good(&format!(
            "{} is back (pid {pid}, {ready}); {}",
            shared.console.bold(name),
            self.config.role.back(listening.outbound)
        ));
    }

    /// 4. Stop (the launcher is stopping), after its instance.
    async fn stop(&mut self, child: &mut ChildProcess) {
        self.config.sink.note("stopping (SIGTERM)");
        if let Stopped::Killed = child.stop(STOP_GRACE).await {
            self.shared.console.alarm(&format!(
                "{} did not stop in time and was killed",
                self.config.name
            ));
        }
        child.drain_output().await;
    }

    fn cleanup(&self) {
        let _ = std::fs::remove_file(&self.config.addr_file);
    }
}

/// The sidecar's listeners: `outbound_port` (0: any) and port 0 for the first start, the
/// addresses it had for a restart; with the instance's address file, the inbound listener in
/// front of it too.
fn listen_args(
    app_addr_file: Option<&Path>,
    inbound_listener: bool,
    outbound_port: u16,
    previous: Option<Listening>,
) -> Vec<String> {
    let any = || "127.0.0.1:0".to_string();
    let (outbound, admin, inbound) = match previous {
        Some(l) => (
            l.outbound.to_string(),
            l.admin.to_string(),
            l.inbound.map_or_else(any, |a| a.to_string()),
        ),
        None => (format!("127.0.0.1:{outbound_port}"), any(), any()),
    };
    let mut args = vec!["--outbound".into(), outbound, "--admin".into(), admin];
    if let Some(file) = app_addr_file {
        if inbound_listener {
            args.extend(["--inbound".into(), inbound]);
        }
        args.extend(["--app-addr-file".into(), file.display().to_string()]);
    }
    args
}

/// Spawns the sidecar (on `previous`'s addresses, if given) and waits for its address file.
async fn start(
    config: &SidecarConfig,
    shared: &Shared,
    previous: Option<Listening>,
    shutdown: &CancellationToken,
) -> Result<(ChildProcess, Listening), Failed> {
    // A stale file from the run before would look like an instant start.
    let _ = std::fs::remove_file(&config.addr_file);
    let mut args = config.args.clone();
    args.extend(listen_args(
        config.app_addr_file.as_deref(),
        config.inbound,
        config.outbound_port,
        previous,
    ));
    let mut child = process::spawn_args(&shared.exe, &args, &config.env, &config.sink)
        .map_err(Failed::Spawn)?;
    config.sink.note(&format!("started pid {}", child.pid()));
    let (outbound, admin, inbound) = supervise::wait_for_addresses(
        &mut child,
        || mesh::read_sidecar_addrs(&config.addr_file),
        shutdown,
    )
    .await?;
    let pid = child.pid();
    Ok((
        child,
        Listening {
            pid,
            outbound,
            admin,
            inbound,
        },
    ))
}

/// Waits until the sidecar's admin `/ready` answers 200, within `START_TIMEOUT` (30 s).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbound_listener_follows_the_instances_address_file() {
        let file = Path::new("/d/run/reviews-v2.addr");
        let args = listen_args(Some(file), true, 0, None);
        let after = |flag: &str| {
            let at = args.iter().position(|a| a == flag).expect(flag);
            args[at + 1].clone()
        };
        assert_eq!(after("--inbound"), "127.0.0.1:0");
        assert_eq!(after("--app-addr-file"), "/d/run/reviews-v2.addr");
        assert!(
            !args.iter().any(|a| a == "--app"),
            "no port is named in advance"
        );
        assert!(
            !listen_args(None, false, 0, None)
                .iter()
                .any(|a| a == "--inbound")
        );
        // For the control plane only: the address file, no inbound listener.
        let register_only = listen_args(Some(file), false, 0, None);
        assert!(register_only.iter().any(|a| a == "--app-addr-file"));
        assert!(!register_only.iter().any(|a| a == "--inbound"));
    }

    #[test]
    fn the_gateway_listens_on_its_port_from_the_first_start() {
        let args = listen_args(None, false, 9088, None);
        let at = args
            .iter()
            .position(|a| a == "--outbound")
            .expect("--outbound");
        assert_eq!(args[at + 1], "127.0.0.1:9088");
        assert!(!args.iter().any(|a| a == "--inbound"));
    }
}
