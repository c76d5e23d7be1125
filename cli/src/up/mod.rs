//! `sailkit up`: the whole stack on this machine, each service its own process (or, with
//! `--stage monolith`, the whole app as one process: see [`plan::Stage`]).
//!
//! What it builds, with the default ports:
//! ```text
//!  browser ──► :9080 productpage VIP ──► productpage-v1 :9100 ──┬─► :9081 details VIP ──► details-v1
//!                                                               ├─► :9082 reviews VIP ──► reviews-v1, v2, v3
//!                                                               │        (v2, v3) ──► :9083 ratings VIP ──► ratings-v1, v2
//!                                                               └─► :9084 banner VIP ──► banner-v1
//! ```
//! The launcher is one process: it holds the VIPs (see [`crate::service_proxy`]) and starts the
//! eight instances as children. With `--stage monolith` the plan is one instance, `monolith`,
//! behind the productpage VIP alone; every step below is the same. [`run`] is the whole
//! sequence, top to bottom:
//! 1. data directory and lock (one launcher per data directory);
//! 2. ports: the VIPs are bound first, so a taken port is reported before anything starts;
//! 3. instances: all started at once, each reported as it becomes ready;
//! 4. VIPs: serving, over the instances that are ready;
//! 5. `run/stack.json` and the summary table;
//! 6. wait for Ctrl-C or SIGTERM; 7. stop everything, clean up, exit 0.
//!
//! Layout, one job per file:
//! - [`plan`]: the stage; which instances and VIPs, with which environment (the "manifests").
//! - [`ports`]: which port for what; binding with errors that name the service.
//! - [`lock`]: the data directory's lock.
//! - [`instance`]: one instance's life: start, readiness, crash and restart, stop.
//! - [`process`]: spawning and stopping a child process.
//! - [`health`]: the readiness probe.
//! - [`logs`]: the children's output, prefixed, in log files, and its last lines.
//! - [`console`]: the launcher's own output.
//! - [`state`]: the state file, `run/stack.json`.
//! - [`table`]: the summary table.
//! - [`error`]: what can go wrong, in words a person can act on.

pub mod console;
pub mod error;
pub mod health;
pub mod instance;
pub mod lock;
pub mod logs;
pub mod plan;
pub mod ports;
pub mod process;
pub mod state;
pub mod table;

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::UpArgs;
use crate::service_proxy::{self, ServiceProxy};
use crate::services::ServiceName;
use console::Console;
use error::UpError;
use instance::{InstanceConfig, Ready, Shared};
use lock::{Owner, RunLock};
use logs::LogSink;
use ports::PortPlan;
use state::{Stack, StateFile};

/// The folder for address files, the lock and `stack.json`, inside the data directory.
pub const RUN_DIR: &str = "run";
/// The folder for the instances' log files.
pub const LOGS_DIR: &str = "logs";
/// The page to open on the front door.
pub const APP_PATH: &str = "/productpage";

/// `sailkit up`, from the command line to the exit code.
pub fn main(args: UpArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {}", UpError::Runtime(error));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The whole of `up`. Returns when the stack has been stopped.
pub async fn run(args: UpArgs) -> Result<(), UpError> {
    // The VIPs log through `tracing` (a 502, say); the instances' lines come through the pumps.
    common::telemetry::init();
    // Listen for signals from the very start: Ctrl-C while starting must stop the children too.
    let mut signals = Signals::new()?;

    // 1. Data directory and lock.
    let data_dir = prepare_data_dir(&args.data_dir.data_dir)?;
    let run_dir = data_dir.join(RUN_DIR);
    let mut lock = RunLock::acquire(&run_dir)?;
    let state = Arc::new(StateFile::new(&run_dir));
    // A state file left by a launcher that was killed would claim a stack that is not there.
    state.remove();

    let result = run_stack(&args, &data_dir, &mut lock, &state, &mut signals).await;
    state.remove();
    lock.release();
    result
}

/// Steps 2 to 7, with the lock held.
async fn run_stack(
    args: &UpArgs,
    data_dir: &Path,
    lock: &mut RunLock,
    state: &Arc<StateFile>,
    signals: &mut Signals,
) -> Result<(), UpError> {
    let began = Instant::now();
    let run_dir = data_dir.join(RUN_DIR);
    let plan = plan::Plan::for_stage(args.stage, data_dir);
    let specs = plan.instances.clone();
    let width = specs.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let console = Console::detect(width);

    // 2. Ports: the VIPs first, then a check that the instances' ports are free.
    let ports = PortPlan::new(args.port_base, specs.len())?;
    let mut vips = Vec::with_capacity(plan.vips.len());
    for &service in &plan.vips {
        let listener = ports::bind_vip(&ports, service).await?;
        let addr = listener.local_addr().map_err(UpError::Runtime)?;
        vips.push(BoundVip {
            service,
            listener,
            addr,
        });
    }
    for (index, spec) in specs.iter().enumerate() {
        ports::check_free(&ports, ports.instance(index), &spec.name)?;
    }
    // The front door is the productpage VIP; the app itself is its /productpage page.
    let front_door = format!("http://{}", vips[0].addr);
    let owner = Owner {
        pid: std::process::id(),
        front_door: Some(front_door.clone()),
    };
    if let Err(error) = lock.record(&owner) {
        console.say(&format!(
            "sailkit: cannot record this launcher in the lock file: {error}"
        ));
    }

    // 3. Instances: start them all, then wait for each to be ready (or for one to fail).
    console.say(&format!(
        "sailkit: starting {} (data in {})",
        plan.describe(),
        data_dir.display()
    ));
    let shared = Arc::new(Shared {
        exe: std::env::current_exe().map_err(UpError::CurrentExe)?,
        console: console.clone(),
        state: state.clone(),
        ports,
        restart: !args.no_restart,
        probe: health::client(),
    });
    let vip_ports: Vec<(ServiceName, u16)> =
        vips.iter().map(|v| (v.service, v.addr.port())).collect();
    let rust_log = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty());
    let roster = specs.clone();
    let stop_instances = CancellationToken::new();
    let mut instances = JoinSet::new();
    let mut reports = JoinSet::new();
    for (index, spec) in specs.into_iter().enumerate() {
        let addr_file = run_dir.join(format!("{}.addr", spec.name));
        let env = plan::common_env(&spec, &vip_ports, &addr_file, rust_log.clone());
        let sink = LogSink {
            prefix: console.prefix(&spec.name, index).into(),
            color: console.color(),
            file: open_log(&data_dir.join(LOGS_DIR), &spec.name, &console),
            tail: Arc::default(),
        };
        let config = InstanceConfig {
            port: ports.instance(index),
            spec,
            env,
            addr_file,
            sink,
        };
        let (started, report) = oneshot::channel();
        instances.spawn(instance::run(
            config,
            shared.clone(),
            started,
            stop_instances.clone(),
        ));
        reports.spawn(async move { (index, report.await) });
    }

    let ready = tokio::select! {
        ready = wait_all_ready(&roster, &mut reports) => ready,
        signal = signals.recv() => {
            console.say(&format!("sailkit: {signal} while starting: stopping"));
            stop_all(&stop_instances, &mut instances).await;
            console.say("sailkit: stopped");
            return Ok(());
        }
    };
    let ready = match ready {
        Ok(ready) => ready,
        Err(error) => {
            console.say("sailkit: start-up failed; stopping the other instances");
            stop_all(&stop_instances, &mut instances).await;
            return Err(error);
        }
    };

    // 4. VIPs: each serves over its service's instances.
    let stop_vips = CancellationToken::new();
    let mut vip_tasks = JoinSet::new();
    let mut stack_vips = Vec::with_capacity(vips.len());
    for vip in vips {
        let endpoints: Vec<_> = ready
            .iter()
            .filter(|r| r.vip == vip.service)
            .map(|r| r.ready.endpoint.clone())
            .collect();
        stack_vips.push(state::Vip {
            name: vip.service.to_string(),
            service: vip.service,
            url: format!("http://{}", vip.addr),
            instances: endpoints.iter().map(|e| e.name().to_string()).collect(),
        });
        let proxy = ServiceProxy::new(vip.service.as_str(), endpoints);
        vip_tasks.spawn(service_proxy::serve(vip.listener, proxy, stop_vips.clone()));
    }

    // 5. The state file, then the table.
    let stack = Stack {
        launcher_pid: std::process::id(),
        data_dir: data_dir.to_path_buf(),
        app_url: format!("{front_door}{APP_PATH}"),
        front_door,
        vips: stack_vips,
        instances: ready
            .iter()
            .map(|r| state::Instance {
                name: r.name.clone(),
                service: r.service,
                version: r.version.to_string(),
                url: format!("http://{}", r.ready.endpoint.addr()),
                pid: Some(r.ready.pid),
            })
            .collect(),
    };
    let table = table::render(&stack, &console, |i| match i.pid {
        Some(pid) => format!("pid {pid}"),
        None => "down".to_string(),
    });
    if let Err(source) = state.publish(stack) {
        stop_vips.cancel();
        stop_all(&stop_instances, &mut instances).await;
        return Err(UpError::State {
            path: state.path().to_path_buf(),
            source,
        });
    }
    console.say(&table);
    console.good(&format!(
        "sailkit is up after {:.1} s. Press Ctrl-C to stop.",
        began.elapsed().as_secs_f64()
    ));

    // 6. Run until asked to stop.
    let signal = signals.recv().await;

    // 7. Stop: the VIPs stop accepting while every instance gets SIGTERM, all at once.
    console.say(&format!(
        "sailkit: {signal} received: stopping every instance"
    ));
    stop_vips.cancel();
    stop_all(&stop_instances, &mut instances).await;
    while vip_tasks.join_next().await.is_some() {}
    console.say("sailkit: stopped");
    Ok(())
}

/// A VIP listener bound in step 2, served in step 4.
struct BoundVip {
    service: ServiceName,
    listener: TcpListener,
    addr: SocketAddr,
}

/// An instance that became ready, with what the launcher needs to know about it.
struct ReadyInstance {
    name: String,
    service: ServiceName,
    /// The VIP that sends it requests.
    vip: ServiceName,
    version: &'static str,
    ready: Ready,
}

/// An instance's readiness report, with its place in the plan. The receive error means its task
/// ended without a report, which it only does when the launcher is stopping.
type Report = (
    usize,
    Result<Result<Ready, UpError>, oneshot::error::RecvError>,
);

/// Waits for every instance's readiness report; the first failure ends the wait.
async fn wait_all_ready(
    roster: &[plan::InstanceSpec],
    reports: &mut JoinSet<Report>,
) -> Result<Vec<ReadyInstance>, UpError> {
    let mut slots: Vec<Option<Ready>> = roster.iter().map(|_| None).collect();
    while let Some(joined) = reports.join_next().await {
        let Ok((index, report)) = joined else {
            continue;
        };
        match report {
            Ok(Ok(ready)) => slots[index] = Some(ready),
            Ok(Err(error)) => return Err(error),
            // The instance's task ended without a word: only when the launcher is stopping.
            Err(_) => {}
        }
    }
    Ok(roster
        .iter()
        .zip(slots)
        .filter_map(|(spec, ready)| {
            ready.map(|ready| ReadyInstance {
                name: spec.name.clone(),
                service: spec.service,
                vip: spec.vip,
                version: spec.version,
                ready,
            })
        })
        .collect())
}

/// Asks every instance task to stop its process, and waits until they all have.
async fn stop_all(token: &CancellationToken, instances: &mut JoinSet<()>) {
    token.cancel();
    while instances.join_next().await.is_some() {}
}

/// Makes the data directory absolute (the instances get paths inside it) and creates it with
/// its `run/` and `logs/` folders and the banner admin's `admin-password` file.
fn prepare_data_dir(dir: &Path) -> Result<PathBuf, UpError> {
    let error = |source| UpError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    let dir = std::path::absolute(dir).map_err(error)?;
    for sub in [RUN_DIR, LOGS_DIR] {
        std::fs::create_dir_all(dir.join(sub)).map_err(error)?;
    }
    // The banner admin's password, made on the first start and kept after.
    plan::ensure_admin_password(&dir).map_err(error)?;
    Ok(dir)
}

/// Opens (appending) an instance's log file. Without it the instance still runs, its lines
/// only shown on the terminal, so a failure is reported and not fatal.
fn open_log(logs_dir: &Path, instance: &str, console: &Console) -> Option<Arc<std::fs::File>> {
    let path = logs_dir.join(format!("{instance}.log"));
    match OpenOptions::new().create(true).append(true).open(&path) {
        Ok(file) => Some(Arc::new(file)),
        Err(error) => {
            console.say(&format!("sailkit: cannot open {}: {error}", path.display()));
            None
        }
    }
}

/// Ctrl-C and SIGTERM, the two ways to ask the launcher to stop.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> Result<Self, UpError> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).map_err(UpError::Runtime)?,
            terminate: signal(SignalKind::terminate()).map_err(UpError::Runtime)?,
        })
    }

    /// Waits for the next one, and names it.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
