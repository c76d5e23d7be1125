//! The start-up steps that `run_stack` (in `mod.rs`) calls in order, one function each. Every
//! task a step spawns goes into the [`Children`] it is given, so that whatever happens next,
//! `run_stack` stops it in one place.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::children::{Children, Group};
use super::console::Console;
use super::error::UpError;
use super::instance::{self, InstanceConfig, Ready, Shared};
use super::mesh;
use super::plan::{self, InstanceSpec};
use super::ports::{self, PortPlan};
use super::sidecar;
use super::signals::{Halt, Signals, or_signal};
use super::state::{self, Stack, StateFile};
use super::{APP_PATH, SIDECAR_SUFFIX, log_sink, proxy_env};
use crate::cli::UpArgs;
use crate::service_proxy::{self, ServiceProxy};
use crate::services::ServiceName;

/// What every step reads: the command line, the plan and the launcher's own settings.
pub struct Launch<'a> {
    pub args: &'a UpArgs,
    pub data_dir: &'a Path,
    pub run_dir: PathBuf,
    pub plan: plan::Plan,
    /// The mesh needs one service per process; the monolith calls no peer over the network.
    pub mesh_on: bool,
    pub console: Console,
    pub rust_log: Option<String>,
}

impl Launch<'_> {
    /// Where an instance writes its address once it listens (`SAILKIT_ADDR_FILE`); with the
    /// mesh, its sidecar reads the same file to find it.
    fn instance_addr_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.addr"))
    }
}

/// A VIP listener bound in step 2, served in step 4.
pub struct BoundVip {
    service: ServiceName,
    listener: TcpListener,
    pub addr: SocketAddr,
}

/// Step 2: binds the VIPs, then checks that the instances' (and the gateway's) ports are free,
/// so that a taken port is reported before anything starts.
pub async fn claim_ports(launch: &Launch<'_>, ports: &PortPlan) -> Result<Vec<BoundVip>, UpError> {
    let mut vips = Vec::with_capacity(launch.plan.vips.len());
    for &service in &launch.plan.vips {
        let listener = ports::bind_vip(ports, service).await?;
        let addr = listener.local_addr().map_err(UpError::Runtime)?;
        vips.push(BoundVip {
            service,
            listener,
            addr,
        });
    }
    for (index, spec) in launch.plan.instances.iter().enumerate() {
        ports::check_free(ports, ports.instance(index), &spec.name)?;
    }
    if launch.mesh_on {
        ports::check_free(ports, ports.gateway(), mesh::GATEWAY_WORKLOAD)?;
    }
    Ok(vips)
}

/// The proxies of the mesh, once listening: a sidecar per instance (by its place in the plan)
/// and the ingress gateway. Without the mesh, none.
pub struct Proxies {
    pub sidecars: Vec<Option<sidecar::Listening>>,
    pub gateway: Option<sidecar::Listening>,
}

/// Step 3a, with the mesh: the sidecars first, since each instance needs its sidecar's address,
/// and the ingress gateway with them.
pub async fn start_sidecars(
    launch: &Launch<'_>,
    shared: &Arc<Shared>,
    children: &mut Children,
    signals: &mut Signals,
) -> Result<Proxies, Halt> {
    let count = launch.plan.instances.len();
    let mut proxies = Proxies {
        sidecars: vec![None; count],
        gateway: None,
    };
    if !launch.mesh_on {
        return Ok(proxies);
    }
    let data_dir = launch.data_dir;
    mesh::prepare(data_dir).map_err(|source| UpError::DataDir {
        path: data_dir.join(mesh::MESH_DIR),
        source,
    })?;
    let group = &mut children.sidecars;
    let mut reports = Vec::with_capacity(count + 1);
    for (index, spec) in launch.plan.instances.iter().enumerate() {
        let name = format!("{}{SIDECAR_SUFFIX}", spec.name);
        let addr_file = launch.run_dir.join(format!("{name}.addr"));
        // An address left by a launcher that was killed would send the sidecar's inbound
        // requests to a dead port until the instance writes its own.
        let app_addr_file = launch.instance_addr_file(&spec.name);
        let _ = std::fs::remove_file(&app_addr_file);
        let config = sidecar::SidecarConfig {
            role: sidecar::Role::Sidecar {
                instance: spec.name.clone(),
            },
            outbound_port: 0,
            args: mesh::sidecar_args(data_dir, &addr_file, spec.service, spec.version),
            // The inbound listener only with `--inbound`.
            app_addr_file: launch.args.inbound.then_some(app_addr_file),
            env: proxy_env(launch.rust_log.as_deref()),
            addr_file,
            sink: log_sink(&launch.console, data_dir, &name, index),
            name,
        };
        reports.push(spawn_sidecar(config, shared, group));
    }
    // The ingress gateway, a proxy with no instance: awaited with the sidecars, last.
    reports.push(start_gateway(launch, shared, group));
    for (index, report) in reports.into_iter().enumerate() {
        match or_signal(signals, report).await? {
            Ok(Ok(listening)) if index == count => proxies.gateway = Some(listening),
            Ok(Ok(listening)) => proxies.sidecars[index] = Some(listening),
            Ok(Err(error)) => {
                launch
                    .console
                    .say("sailkit: start-up failed; stopping the sidecars");
                return Err(Halt::Failed(error));
            }
            Err(_) => return Err(Halt::Quiet),
        }
    }
    Ok(proxies)
}

/// Starts the ingress gateway's task (see [`sidecar`]): `sailkit proxy --gateway
/// bookinfo-gateway` on the stack's gateway port. Its colour is the one after the instances'.
fn start_gateway(
    launch: &Launch<'_>,
    shared: &Arc<Shared>,
    group: &mut Group,
) -> oneshot::Receiver<Result<sidecar::Listening, UpError>> {
    let name = mesh::GATEWAY_WORKLOAD.to_string();
    let addr_file = launch.run_dir.join(format!("{name}.addr"));
    let config = sidecar::SidecarConfig {
        role: sidecar::Role::Gateway,
        outbound_port: shared.ports.gateway(),
        args: mesh::gateway_args(launch.data_dir, &addr_file),
        app_addr_file: None,
        env: proxy_env(launch.rust_log.as_deref()),
        addr_file,
        sink: log_sink(
            &shared.console,
            launch.data_dir,
            &name,
            launch.plan.instances.len(),
        ),
        name,
    };
    spawn_sidecar(config, shared, group)
}

/// Spawns one proxy's task; its addresses, or why it could not start, come through the
/// returned receiver.
fn spawn_sidecar(
    config: sidecar::SidecarConfig,
    shared: &Arc<Shared>,
    group: &mut Group,
) -> oneshot::Receiver<Result<sidecar::Listening, UpError>> {
    let (started, report) = oneshot::channel();
    group.tasks.spawn(sidecar::run(
        config,
        shared.clone(),
        started,
        group.stop.clone(),
    ));
    report
}

/// An instance that became ready, with what the launcher needs to know about it.
pub struct ReadyInstance {
    /// Its place in the plan.
    index: usize,
    name: String,
    service: ServiceName,
    /// The VIP that sends it requests.
    vip: ServiceName,
    version: &'static str,
    ready: Ready,
}

/// Step 3b: starts every instance at once (each pointed at its sidecar, with the mesh), then
/// waits for each to be ready, or for one to fail.
pub async fn start_instances(
    launch: &Launch<'_>,
    shared: &Arc<Shared>,
    vips: &[BoundVip],
    proxies: &Proxies,
    children: &mut Children,
    signals: &mut Signals,
) -> Result<Vec<ReadyInstance>, Halt> {
    let vip_ports: Vec<(ServiceName, u16)> =
        vips.iter().map(|v| (v.service, v.addr.port())).collect();
    let group = &mut children.instances;
    let mut reports = JoinSet::new();
    for (index, spec) in launch.plan.instances.iter().cloned().enumerate() {
        let addr_file = launch.instance_addr_file(&spec.name);
        let mut env = plan::common_env(&spec, &vip_ports, &addr_file, launch.rust_log.clone());
        let sidecar = proxies.sidecars[index];
        if let Some(listening) = sidecar {
            mesh::through_sidecar(&mut env, listening.outbound);
        }
        let sink = log_sink(&launch.console, launch.data_dir, &spec.name, index);
        let config = InstanceConfig {
            port: shared.ports.instance(index),
            front: sidecar.and_then(|s| s.inbound),
            spec,
            env,
            addr_file,
            sink,
        };
        let (started, report) = oneshot::channel();
        group.tasks.spawn(instance::run(
            config,
            shared.clone(),
            started,
            group.stop.clone(),
        ));
        reports.spawn(async move { (index, report.await) });
    }
    match or_signal(
        signals,
        wait_all_ready(&launch.plan.instances, &mut reports),
    )
    .await?
    {
        Ok(ready) => Ok(ready),
        Err(error) => {
            launch
                .console
                .say("sailkit: start-up failed; stopping the other instances");
            Err(Halt::Failed(error))
        }
    }
}

/// An instance's readiness report, with its place in the plan. The receive error means its task
/// ended without a report, which it only does when the launcher is stopping.
type Report = (
    usize,
    Result<Result<Ready, UpError>, oneshot::error::RecvError>,
);

/// Waits for every instance's readiness report; the first failure ends the wait.
async fn wait_all_ready(
    roster: &[InstanceSpec],
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

/// Step 3c, with the mesh: the registry, now that the instances' addresses are known, then
/// every sidecar and the gateway ready (each has loaded the registry and the config).
pub async fn wait_mesh_ready(
    launch: &Launch<'_>,
    shared: &Shared,
    ready: &[ReadyInstance],
    proxies: &Proxies,
    signals: &mut Signals,
) -> Result<(), Halt> {
    if !launch.mesh_on {
        return Ok(());
    }
    let data_dir = launch.data_dir;
    let workloads: Vec<mesh::Workload> = ready
        .iter()
        .map(|r| mesh::Workload {
            service: r.service,
            version: r.version.to_string(),
            // Peers reach it through its sidecar's inbound listener.
            addr: r.ready.endpoint.addr(),
        })
        .collect();
    let mut result = mesh::write_registry(data_dir, &workloads).map_err(|source| UpError::State {
        path: mesh::registry_path(data_dir),
        source,
    });
    let names = launch
        .plan
        .instances
        .iter()
        .map(|spec| format!("{}{SIDECAR_SUFFIX}", spec.name))
        .chain([mesh::GATEWAY_WORKLOAD.to_string()]);
    let listenings = proxies.sidecars.iter().chain([&proxies.gateway]);
    for (name, listening) in names.zip(listenings) {
        let (Ok(()), Some(listening)) = (&result, listening) else {
            continue;
        };
        result = or_signal(
            signals,
            sidecar::wait_ready(&shared.probe, &name, listening.admin),
        )
        .await?;
    }
    if let Err(error) = result {
        launch
            .console
            .say("sailkit: start-up failed; stopping every instance and sidecar");
        return Err(Halt::Failed(error));
    }
    launch.console.good(&format!(
        "{} sidecars and the ingress gateway ready; routing from {} (change it with \
         `sailkit apply FILE`)",
        proxies.sidecars.iter().flatten().count(),
        mesh::config_dir(data_dir).display()
    ));
    Ok(())
}

/// Step 4: each VIP serves over its service's instances. Returns the VIPs as `stack.json`
/// lists them.
pub fn start_vips(
    launch: &Launch<'_>,
    vips: Vec<BoundVip>,
    ready: &[ReadyInstance],
    group: &mut Group,
) -> Vec<state::Vip> {
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
        let limits = launch.args.connections.limits();
        group.tasks.spawn(service_proxy::serve_with(
            vip.listener,
            proxy,
            limits,
            group.stop.clone(),
        ));
    }
    stack_vips
}

/// Step 5a: publishes `run/stack.json`, and returns the summary table of the same stack.
pub fn write_state(
    launch: &Launch<'_>,
    state: &StateFile,
    front_door: String,
    vips: Vec<state::Vip>,
    ready: &[ReadyInstance],
    proxies: &Proxies,
) -> Result<String, UpError> {
    let stack = Stack {
        launcher_pid: std::process::id(),
        data_dir: launch.data_dir.to_path_buf(),
        app_url: format!("{front_door}{APP_PATH}"),
        front_door,
        vips,
        instances: ready
            .iter()
            .map(|r| state::Instance {
                name: r.name.clone(),
                service: r.service,
                version: r.version.to_string(),
                url: format!("http://{}", r.ready.addr),
                pid: Some(r.ready.pid),
                sidecar: proxies.sidecars[r.index].map(|s| state::Sidecar {
                    pid: s.pid,
                    outbound: format!("http://{}", s.outbound),
                    admin: format!("http://{}", s.admin),
                    inbound: s.inbound.map(|a| format!("http://{a}")),
                }),
            })
            .collect(),
        gateway: proxies.gateway.map(|g| state::Gateway {
            name: mesh::GATEWAY_WORKLOAD.to_string(),
            gateway: mesh::GATEWAY_NAME.to_string(),
            pid: g.pid,
            url: format!("http://{}", g.outbound),
            admin: format!("http://{}", g.admin),
        }),
    };
    let table = super::table::render(&stack, &launch.console, |i| match i.pid {
        Some(pid) => format!("pid {pid}"),
        None => "down".to_string(),
    });
    state.publish(stack).map_err(|source| UpError::State {
        path: state.path().to_path_buf(),
        source,
    })?;
    Ok(table)
}
