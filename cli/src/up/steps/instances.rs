//! Step 3b: every instance started at once, each pointed at its sidecar with the mesh, and
//! their readiness gathered.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::super::children::Children;
use super::super::error::UpError;
use super::super::instance::{self, InstanceConfig, Ready, Shared};
use super::super::log_sink;
use super::super::mesh;
use super::super::plan::{self, InstanceSpec};
use super::super::signals::{Halt, Signals, or_signal};
use super::{BoundVip, Launch, Proxies};
use crate::services::ServiceName;

/// An instance that became ready, with what the launcher needs to know about it.
pub struct ReadyInstance {
    /// Its place in the plan.
    pub index: usize,
    pub name: String,
    pub service: ServiceName,
    /// The VIP that sends it requests.
    pub vip: ServiceName,
    pub version: &'static str,
    pub ready: Ready,
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
        // Spans to the dashboard; the sidecar decides which requests are sampled.
        if let Some(otlp) = &shared.otlp {
            env.push((
                common::telemetry::config::OTLP_ENDPOINT.to_string(),
                otlp.clone(),
            ));
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
