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
//! Layout, one job per file:
//! - [`plan`]: the stage; which instances and VIPs, with which environment (the "manifests").
//! - [`ports`]: which port for what; binding with errors that name the service.
//! - [`lock`]: the data directory's lock.
//! - [`instance`]: one instance's life: start, readiness, crash and restart, stop.
//! - [`process`]: spawning and stopping a child process.
//! - [`mesh`]: with the mesh, its's files, the registry, and pointing instances at sidecars.
//! - [`sidecar`]: with the mesh, one sidecar's life: start, readiness, crash and restart, stop.
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
pub mod mesh;
pub mod plan;
pub mod ports;
pub mod private;
pub mod process;
pub mod sidecar;
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
    let plan = plan::Plan::for_stage(args.stage, data_dir).with_extras(&args.extra);
    let specs = plan.instances.clone();
    // The mesh needs one service per process; the monolith calls no peer over the network.
    let mesh_on = !args.no_mesh && plan.stage == plan::Stage::Services;
    let suffix = if mesh_on { SIDECAR_SUFFIX.len() } else { 0 };
    let width = specs
        .iter()
        .map(|s| s.name.len() + suffix)
        .chain(mesh_on.then_some(mesh::GATEWAY_WORKLOAD.len()))
        .max()
        .unwrap_or(0);
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
    if mesh_on {
        ports::check_free(&ports, ports.gateway(), mesh::GATEWAY_WORKLOAD)?;
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

    // Where each instance writes its address once it listens (`SAILKIT_ADDR_FILE`); with the
    // mesh, its sidecar reads the same file to find it.
    let instance_addr_file = |name: &str| run_dir.join(format!("{name}.addr"));

    // 3a. With the mesh: the sidecars first, since each instance needs its sidecar's address.
    let stop_sidecars = CancellationToken::new();
    let mut sidecar_tasks = JoinSet::new();
    let mut sidecars: Vec<Option<sidecar::Listening>> = vec![None; specs.len()];
    let mut gateway: Option<sidecar::Listening> = None;
    if mesh_on {
        mesh::prepare(data_dir).map_err(|source| UpError::DataDir {
            path: data_dir.join(mesh::MESH_DIR),
            source,
        })?;
        let mut reports = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let name = format!("{}{SIDECAR_SUFFIX}", spec.name);
            let addr_file = run_dir.join(format!("{name}.addr"));
            // An address left by a launcher that was killed would send the sidecar's inbound
            // requests to a dead port until the instance writes its own.
            let app_addr_file = instance_addr_file(&spec.name);
            let _ = std::fs::remove_file(&app_addr_file);
            let config = sidecar::SidecarConfig {
                role: sidecar::Role::Sidecar {
                    instance: spec.name.clone(),
                },
                outbound_port: 0,
                args: mesh::sidecar_args(data_dir, &addr_file, spec.service, spec.version),
                // The inbound listener only with `--inbound`.
                app_addr_file: args.inbound.then_some(app_addr_file),
                env: proxy_env(rust_log.as_deref()),
                addr_file,
                sink: log_sink(&console, data_dir, &name, index),
                name,
            };
            let (started, report) = oneshot::channel();
            sidecar_tasks.spawn(sidecar::run(
                config,
                shared.clone(),
                started,
                stop_sidecars.clone(),
            ));
            reports.push(report);
        }
        // The ingress gateway, a proxy with no instance: awaited with the sidecars, last.
        reports.push(start_gateway(
            data_dir,
            &shared,
            &stop_sidecars,
            &mut sidecar_tasks,
            rust_log.as_deref(),
            specs.len(),
        ));
        for (index, report) in reports.into_iter().enumerate() {
            let report = tokio::select! {
                report = report => report,
                signal = signals.recv() => {
                    console.say(&format!("sailkit: {signal} while starting: stopping"));
                    stop_all(&stop_sidecars, &mut sidecar_tasks).await;
                    console.say("sailkit: stopped");
                    return Ok(());
                }
            };
            match report {
                Ok(Ok(listening)) if index == specs.len() => gateway = Some(listening),
                Ok(Ok(listening)) => sidecars[index] = Some(listening),
                Ok(Err(error)) => {
                    console.say("sailkit: start-up failed; stopping the sidecars");
                    stop_all(&stop_sidecars, &mut sidecar_tasks).await;
                    return Err(error);
                }
                Err(_) => {
                    stop_all(&stop_sidecars, &mut sidecar_tasks).await;
                    return Ok(());
                }
            }
        }
    }

    let roster = specs.clone();
    let stop_instances = CancellationToken::new();
    let mut instances = JoinSet::new();
    let mut reports = JoinSet::new();
    for (index, spec) in specs.into_iter().enumerate() {
        let addr_file = instance_addr_file(&spec.name);
        let mut env = plan::common_env(&spec, &vip_ports, &addr_file, rust_log.clone());
        if let Some(listening) = sidecars[index] {
            mesh::through_sidecar(&mut env, listening.outbound);
        }
        let sink = log_sink(&console, data_dir, &spec.name, index);
        let config = InstanceConfig {
            port: ports.instance(index),
            front: sidecars[index].and_then(|s| s.inbound),
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
            stop_all(&stop_sidecars, &mut sidecar_tasks).await;
            console.say("sailkit: stopped");
            return Ok(());
        }
    };
    let ready = match ready {
        Ok(ready) => ready,
        Err(error) => {
            console.say("sailkit: start-up failed; stopping the other instances");
            stop_all(&stop_instances, &mut instances).await;
            stop_all(&stop_sidecars, &mut sidecar_tasks).await;
            return Err(error);
        }
    };

    // 3b. With the mesh: the registry, now that the addresses are known, then every sidecar
    //     ready (it has loaded the registry and the config).
    if mesh_on {
        let workloads: Vec<mesh::Workload> = ready
            .iter()
            .map(|r| mesh::Workload {
                service: r.service,
                version: r.version.to_string(),
                // Peers reach it through its sidecar's inbound listener.
                addr: r.ready.endpoint.addr(),
            })
            .collect();
        let mut result =
            mesh::write_registry(data_dir, &workloads).map_err(|source| UpError::State {
                path: mesh::registry_path(data_dir),
                source,
            });
        let names = roster
            .iter()
            .map(|spec| format!("{}{SIDECAR_SUFFIX}", spec.name))
            .chain([mesh::GATEWAY_WORKLOAD.to_string()]);
        let listenings = sidecars.iter().chain([&gateway]);
        for (name, listening) in names.zip(listenings) {
            let (Ok(()), Some(listening)) = (&result, listening) else {
                continue;
            };
            result = tokio::select! {
                result = sidecar::wait_ready(&shared.probe, &name, listening.admin) => result,
                signal = signals.recv() => {
                    console.say(&format!("sailkit: {signal} while starting: stopping"));
                    stop_all(&stop_instances, &mut instances).await;
                    stop_all(&stop_sidecars, &mut sidecar_tasks).await;
                    return Ok(());
                }
            };
        }
        if let Err(error) = result {
            console.say("sailkit: start-up failed; stopping every instance and sidecar");
            stop_all(&stop_instances, &mut instances).await;
            stop_all(&stop_sidecars, &mut sidecar_tasks).await;
            return Err(error);
        }
        console.good(&format!(
            "{} sidecars and the ingress gateway ready; routing from {} (change it with \
             `sailkit apply FILE`)",
            sidecars.iter().flatten().count(),
            mesh::config_dir(data_dir).display()
        ));
    }

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
        let limits = args.connections.limits();
        vip_tasks.spawn(service_proxy::serve_with(
            vip.listener,
            proxy,
            limits,
            stop_vips.clone(),
        ));
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
                url: format!("http://{}", r.ready.addr),
                pid: Some(r.ready.pid),
                sidecar: sidecars[r.index].map(|s| state::Sidecar {
                    pid: s.pid,
                    outbound: format!("http://{}", s.outbound),
                    admin: format!("http://{}", s.admin),
                    inbound: s.inbound.map(|a| format!("http://{a}")),
                }),
            })
            .collect(),
        gateway: gateway.map(|g| state::Gateway {
            name: mesh::GATEWAY_WORKLOAD.to_string(),
            gateway: mesh::GATEWAY_NAME.to_string(),
            pid: g.pid,
            url: format!("http://{}", g.outbound),
            admin: format!("http://{}", g.admin),
        }),
    };
    let table = table::render(&stack, &console, |i| match i.pid {
        Some(pid) => format!("pid {pid}"),
        None => "down".to_string(),
    });
    if let Err(source) = state.publish(stack) {
        stop_vips.cancel();
        stop_all(&stop_instances, &mut instances).await;
        stop_all(&stop_sidecars, &mut sidecar_tasks).await;
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
    // The sidecars last, so the instances' final requests still reach their peers.
    stop_all(&stop_sidecars, &mut sidecar_tasks).await;
    while vip_tasks.join_next().await.is_some() {}
    console.say("sailkit: stopped");
    Ok(())
}

/// Starts the ingress gateway's task (see [`sidecar`]): `sailkit proxy --gateway
/// bookinfo-gateway` on the stack's gateway port. Its addresses, or why it could not start,
/// come through the returned receiver. `color` is its place in the console's colours.
fn start_gateway(
    data_dir: &Path,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
    tasks: &mut JoinSet<()>,
    rust_log: Option<&str>,
    color: usize,
) -> oneshot::Receiver<Result<sidecar::Listening, UpError>> {
    let name = mesh::GATEWAY_WORKLOAD.to_string();
    let addr_file = data_dir.join(RUN_DIR).join(format!("{name}.addr"));
    let config = sidecar::SidecarConfig {
        role: sidecar::Role::Gateway,
        outbound_port: shared.ports.gateway(),
        args: mesh::gateway_args(data_dir, &addr_file),
        app_addr_file: None,
        env: proxy_env(rust_log),
        addr_file,
        sink: log_sink(&shared.console, data_dir, &name, color),
        name,
    };
    let (started, report) = oneshot::channel();
    tasks.spawn(sidecar::run(config, shared.clone(), started, stop.clone()));
    report
}

/// A VIP listener bound in step 2, served in step 4.
struct BoundVip {
    service: ServiceName,
    listener: TcpListener,
    addr: SocketAddr,
}

/// An instance that became ready, with what the launcher needs to know about it.
struct ReadyInstance {
    /// Its place in the plan.
    index: usize,
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
        .enumerate()
        .filter_map(|(index, (spec, ready))| {
            ready.map(|ready| ReadyInstance {
                index,
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
fn proxy_env(rust_log: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![(common::shutdown::EXIT_ON_STDIN_EOF.to_string(), "1".into())];
    if let Some(level) = rust_log {
        env.push(("RUST_LOG".to_string(), level.to_string()));
    }
    env
}

/// Where a child's output goes: the terminal, prefixed with its `name` in the colour of its
/// place `index`, and `<data_dir>/logs/<name>.log`.
fn log_sink(console: &Console, data_dir: &Path, name: &str, index: usize) -> LogSink {
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
