//! Steps 3a and 3c, with the mesh: the sidecars and the ingress gateway started before the
//! instances (each instance needs its sidecar's address), then, once the instances are ready and
//! the registry written, every proxy ready.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::super::children::{Children, Group};
use super::super::error::UpError;
use super::super::instance::Shared;
use super::super::sidecar;
use super::super::signals::{Halt, Signals, or_signal};
use super::super::{SIDECAR_SUFFIX, log_sink, proxy_env};
use super::super::{control, in_force, mesh};
use super::{Launch, ReadyInstance};

/// The proxies of the mesh, once listening: a sidecar per instance (by its place in the plan)
/// and the ingress gateway. Without the mesh, none.
pub struct Proxies {
    pub sidecars: Vec<Option<sidecar::Listening>>,
    pub gateway: Option<sidecar::Listening>,
    /// The control plane they connect to (unless `--no-control-plane`).
    pub control: Option<control::Listening>,
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
        control: None,
    };
    if !launch.mesh_on {
        return Ok(proxies);
    }
    let data_dir = launch.data_dir;
    mesh::prepare(data_dir).map_err(|source| UpError::DataDir {
        path: data_dir.join(mesh::MESH_DIR),
        source,
    })?;
    // The control plane first (unless `--no-control-plane`): every proxy connects to it.
    let source = if launch.args.control_plane() {
        let listening = start_control(launch, shared, &mut children.control, signals).await?;
        proxies.control = Some(listening);
        mesh::Source::ControlPlane(listening.grpc)
    } else {
        mesh::Source::Files {
            data_dir: data_dir.to_path_buf(),
        }
    };
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
            args: with_tracing(
                mesh::sidecar_args(&source, &addr_file, &spec.name, spec.service, spec.version),
                shared,
            ),
            // The instance's address: for the inbound listener (`--inbound`), or for the
            // sidecar to register with the control plane.
            app_addr_file: (launch.args.inbound || launch.args.control_plane())
                .then_some(app_addr_file),
            inbound: launch.args.inbound,
            env: proxy_env(launch.rust_log.as_deref()),
            addr_file,
            sink: log_sink(&launch.console, data_dir, &name, index),
            name,
        };
        reports.push(spawn_sidecar(config, shared, group));
    }
    // The ingress gateway, a proxy with no instance: awaited with the sidecars, last.
    reports.push(start_gateway(launch, &source, shared, group));
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

/// A proxy's flags, plus where it sends its spans when the dashboard runs: every request traced
/// (`--trace-sampling 100`), so that a learner finds each one, where Istio's default is 1 %.
fn with_tracing(mut args: Vec<String>, shared: &Shared) -> Vec<String> {
    if let Some(otlp) = &shared.otlp {
        args.extend([
            "--otlp-endpoint".into(),
            otlp.clone(),
            "--trace-sampling".into(),
            "100".into(),
        ]);
    }
    args
}

/// Starts the ingress gateway's task (see [`sidecar`]): `sailkit proxy --gateway
/// bookinfo-gateway` on the stack's gateway port. Its colour is the one after the instances'.
fn start_gateway(
    launch: &Launch<'_>,
    source: &mesh::Source,
    shared: &Arc<Shared>,
    group: &mut Group,
) -> oneshot::Receiver<Result<sidecar::Listening, UpError>> {
    let name = mesh::GATEWAY_WORKLOAD.to_string();
    let addr_file = launch.run_dir.join(format!("{name}.addr"));
    let config = sidecar::SidecarConfig {
        role: sidecar::Role::Gateway,
        outbound_port: shared.ports.gateway(),
        args: with_tracing(mesh::gateway_args(source, &addr_file), shared),
        app_addr_file: None,
        inbound: false,
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

/// Starts the control plane's task (see [`control`]) on the stack's control-plane port, and
/// waits until it is ready: its config folder loaded.
async fn start_control(
    launch: &Launch<'_>,
    shared: &Arc<Shared>,
    group: &mut Group,
    signals: &mut Signals,
) -> Result<control::Listening, Halt> {
    let name = control::NAME;
    let index = launch.plan.instances.len() + 1;
    let config = control::ControlConfig {
        config_dir: mesh::config_dir(launch.data_dir),
        grpc_port: shared.ports.control_plane(),
        addr_file: launch.run_dir.join(format!("{name}.addr")),
        env: proxy_env(launch.rust_log.as_deref()),
        sink: log_sink(&shared.console, launch.data_dir, name, index),
    };
    let (started, report) = oneshot::channel();
    group.tasks.spawn(control::run(
        config,
        shared.clone(),
        started,
        group.stop.clone(),
    ));
    match or_signal(signals, report).await? {
        Ok(Ok(listening)) => {
            launch.console.good(&format!(
                "{name} ready at grpc://{} (admin http://{}); the proxies get their config from it",
                listening.grpc, listening.admin
            ));
            Ok(listening)
        }
        Ok(Err(error)) => Err(Halt::Failed(error)),
        Err(_) => Err(Halt::Quiet),
    }
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
    // With the control plane, the sidecars register their instances themselves.
    let mut result = match proxies.control {
        Some(_) => Ok(()),
        None => mesh::write_registry(data_dir, &workloads).map_err(|source| UpError::State {
            path: mesh::registry_path(data_dir),
            source,
        }),
    };
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
    // Ready proxies have a snapshot; in sync means every workload is in the one they ACKed.
    if let (Ok(()), Some(control)) = (&result, &proxies.control) {
        let expected = proxies.sidecars.iter().flatten().count() + 1;
        result = or_signal(
            signals,
            control::wait_synced(&shared.probe, control.admin, expected),
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
    // The folder is kept from one run to the next: say what an earlier run left in force, so
    // that stars that do not cycle are no surprise.
    if let Some(kept) = in_force::summary(&in_force::resources(data_dir)) {
        launch.console.say(&format!(
            "  in force from an earlier run: {kept} (`sailkit apply --list` lists them; \
             stop and `rm -rf {}` to start without)",
            mesh::config_dir(data_dir).display()
        ));
    }
    Ok(())
}
