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
//! eight instances as children. With the mesh (the default), every instance also has a sidecar
//! and calls its peers by name through it (`reviews:9080`, see [`mesh`]) instead of through the
//! VIPs, and an ingress gateway, `istio-ingressgateway` on :9088, is the mesh's way in from
//! outside (it routes once `k8s/networking/bookinfo-gateway.yaml` is applied). With `--inbound`
//! the sidecar also stands in front of its instance, so peers and VIPs reach the instance
//! through it. The front door stays the productpage VIP, and the other VIPs stay for people to
//! call a service directly. With `--stage monolith` the plan is one instance, `monolith`, behind
//! the productpage VIP alone; every step below is the same. [`run`] is the whole sequence, top
//! to bottom:
//! 1. data directory and lock (one launcher per data directory);
//! 2. ports: the VIPs are bound first, so a taken port is reported before anything starts;
//! 3. instances: all started at once, each reported as it becomes ready. With the mesh (the
//!    default; `--no-mesh` leaves it out), each instance's sidecar is started first, since the
//!    instance gets its address as `HTTP_PROXY` (the sidecar, in turn, finds its instance in
//!    the address file the instance writes once listening), and the gateway with them; once
//!    the instances are ready the registry is written, and every sidecar and the gateway must
//!    be ready too;
//! 4. VIPs: serving, over the instances that are ready;
//! 5. `run/stack.json` and the summary table;
//! 6. wait for Ctrl-C or SIGTERM; 7. stop everything, clean up, exit 0.
//!
//! Steps 2 to 5 are the functions of [`steps`], called in order by `run_stack`; whichever way
//! they end (a signal, a failure, or the stack stopping), step 7 is the one call
//! [`children::Children::stop`].
//!
//! Layout, one job per file:
//! - [`steps`]: the start-up steps, one function each.
//! - [`children`]: everything started, and the one place that stops it.
//! - [`signals`]: Ctrl-C and SIGTERM, and how start-up gives way to them.
//! - [`plan`]: the stage; which instances and VIPs, with which environment (the "manifests").
//! - [`ports`]: which port for what; binding with errors that name the service.
//! - [`lock`]: the data directory's lock.
//! - `supervise`: the supervisor: start, wait ready, watch, restart with back-off, stop.
//! - [`instance`]: what is particular to an instance's life under the supervisor.
//! - [`process`]: spawning and stopping a child process.
//! - [`mesh`]: with the mesh, its files, the registry, and pointing instances at sidecars.
//! - [`sidecar`]: with the mesh, what is particular to a sidecar's (or the gateway's) life.
//! - [`health`]: the readiness probe.
//! - [`logs`]: the children's output, prefixed, in log files, and its last lines.
//! - [`console`]: the launcher's own output.
//! - [`state`]: the state file, `run/stack.json`.
//! - [`table`]: the summary table.
//! - [`error`]: what can go wrong, in words a person can act on.

pub mod children;
pub mod console;
pub mod control;
pub mod error;
pub mod health;
pub mod in_force;
pub mod instance;
pub mod lock;
pub mod logs;
pub mod mesh;
pub mod plan;
pub mod ports;
pub mod private;
pub mod process;
pub mod sidecar;
pub mod signals;
pub mod state;
pub mod steps;
mod supervise;
pub mod table;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::UpArgs;
use children::Children;
use console::Console;
use error::UpError;
use instance::Shared;
use lock::{Owner, RunLock};
use logs::LogSink;
use ports::PortPlan;
use signals::{Halt, Signals};
use state::StateFile;
use steps::Launch;

/// The folder for address files, the lock and `stack.json`, inside the data directory.
pub const RUN_DIR: &str = "run";
/// The folder for the instances' log files.
pub const LOGS_DIR: &str = "logs";
/// A sidecar's name is its instance's with this suffix: `reviews-v2-sidecar`.
pub const SIDECAR_SUFFIX: &str = "-sidecar";
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

/// Steps 2 to 7, with the lock held. Each step is one function of [`steps`]; every child they
/// start is in `children`, stopped once at the end whichever way start-up or the run ended.
async fn run_stack(
    args: &UpArgs,
    data_dir: &Path,
    lock: &mut RunLock,
    state: &Arc<StateFile>,
    signals: &mut Signals,
) -> Result<(), UpError> {
    let began = Instant::now();
    let plan = plan::Plan::for_stage(args.stage, data_dir).with_extras(&args.extra);
    let mesh_on = !args.no_mesh && plan.stage == plan::Stage::Services;
    let suffix = if mesh_on { SIDECAR_SUFFIX.len() } else { 0 };
    let width = plan
        .instances
        .iter()
        .map(|s| s.name.len() + suffix)
        .chain(mesh_on.then_some(mesh::GATEWAY_WORKLOAD.len()))
        .max()
        .unwrap_or(0);
    let launch = Launch {
        args,
        data_dir,
        run_dir: data_dir.join(RUN_DIR),
        plan,
        mesh_on,
        console: Console::detect(width),
        rust_log: std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()),
    };
    let console = &launch.console;

    let mut children = Children::default();
    let outcome = start_and_serve(&launch, lock, state, signals, &mut children, began).await;
    let (result, stopped_by_signal) = match outcome {
        Ok(signal) => {
            console.say(&format!(
                "sailkit: {signal} received: stopping every instance"
            ));
            (Ok(()), true)
        }
        Err(Halt::Signal(signal)) => {
            console.say(&format!("sailkit: {signal} while starting: stopping"));
            (Ok(()), true)
        }
        Err(Halt::Failed(error)) => (Err(error), false),
        Err(Halt::Quiet) => (Ok(()), false),
    };
    // 7. Stop everything, the one place that does.
    children.stop().await;
    if stopped_by_signal {
        console.say("sailkit: stopped");
    }
    result
}

/// Steps 2 to 6: start the stack, then run until a signal, which it returns by name.
async fn start_and_serve(
    launch: &Launch<'_>,
    lock: &mut RunLock,
    state: &Arc<StateFile>,
    signals: &mut Signals,
    children: &mut Children,
    began: Instant,
) -> Result<&'static str, Halt> {
    let console = &launch.console;

    // 2. Ports: the VIPs first, then a check that the instances' ports are free.
    let ports = PortPlan::new(launch.args.port_base, launch.plan.instances.len())?;
    let vips = steps::claim_ports(launch, &ports).await?;
    // The front door is the productpage VIP; the app itself is its /productpage page.
    let front_door = format!("http://{}", vips[0].addr);
    record_owner(lock, &front_door, console);
    // 2b. The mesh dashboard, which the proxies and instances send their spans to.
    children.dashboard = steps::start_dashboard(launch, &ports).await?;
    let otlp = children
        .dashboard
        .as_ref()
        .map(|d| format!("http://{}", d.otlp_addr));

    // 3. Instances, with the mesh after their sidecars and before the registry.
    console.say(&format!(
        "sailkit: starting {} (data in {})",
        launch.plan.describe(),
        launch.data_dir.display()
    ));
    let shared = Arc::new(Shared {
        exe: std::env::current_exe().map_err(UpError::CurrentExe)?,
        console: console.clone(),
        state: state.clone(),
        ports,
        restart: !launch.args.no_restart,
        probe: health::client(),
        otlp,
    });
    let proxies = steps::start_sidecars(launch, &shared, children, signals).await?;
    let ready = steps::start_instances(launch, &shared, &vips, &proxies, children, signals).await?;
    steps::wait_mesh_ready(launch, &shared, &ready, &proxies, signals).await?;
    steps::show_proxies(children.dashboard.as_ref(), &proxies);

    // 4. VIPs.
    let stack_vips = steps::start_vips(launch, vips, &ready, &mut children.vips);

    // 5. The state file, then the table.
    let table = steps::write_state(
        launch,
        state,
        front_door,
        stack_vips,
        &ready,
        &proxies,
        children.dashboard.as_ref(),
    )?;
    console.say(&table);
    console.good(&format!(
        "sailkit is up after {:.1} s. Press Ctrl-C to stop.",
        began.elapsed().as_secs_f64()
    ));

    // 6. Run until asked to stop.
    Ok(signals.recv().await)
}

/// Writes this launcher's pid and front door into the lock file, for `sailkit status` and a
/// second launcher's error message. Without it the stack still runs, so a failure is only said.
fn record_owner(lock: &mut RunLock, front_door: &str, console: &Console) {
    let owner = Owner {
        pid: std::process::id(),
        front_door: Some(front_door.to_string()),
    };
    if let Err(error) = lock.record(&owner) {
        console.say(&format!(
            "sailkit: cannot record this launcher in the lock file: {error}"
        ));
    }
}

/// Makes the data directory absolute (the instances get paths inside it) and creates it with
/// its `run/` and `logs/` folders and the banner admin's `admin-password` file, all private to
/// the user (see `private.rs`).
fn prepare_data_dir(dir: &Path) -> Result<PathBuf, UpError> {
    let error = |source| UpError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    let dir = std::path::absolute(dir).map_err(error)?;
    private::restrict_new_files();
    private::private_dir(&dir).map_err(error)?;
    private::tighten_files(&dir).map_err(error)?;
    for sub in [RUN_DIR, LOGS_DIR] {
        private::private_dir(&dir.join(sub)).map_err(error)?;
        private::tighten_files(&dir.join(sub)).map_err(error)?;
    }
    // The banner admin's password, made on the first start and kept after.
    plan::ensure_admin_password(&dir).map_err(error)?;
    Ok(dir)
}

/// The environment of a sidecar or the gateway: stop when the launcher's pipe closes, and the
/// launcher's `RUST_LOG`, if set.
pub(crate) fn proxy_env(rust_log: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![(common::shutdown::EXIT_ON_STDIN_EOF.to_string(), "1".into())];
    if let Some(level) = rust_log {
        env.push(("RUST_LOG".to_string(), level.to_string()));
    }
    env
}

/// Where a child's output goes: the terminal, prefixed with its `name` in the colour of its
/// place `index`, and `<data_dir>/logs/<name>.log`.
pub(crate) fn log_sink(console: &Console, data_dir: &Path, name: &str, index: usize) -> LogSink {
    LogSink {
        prefix: console.prefix(name, index).into(),
        color: console.color(),
        file: open_log(&data_dir.join(LOGS_DIR), name, console),
        tail: Arc::default(),
    }
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
