//! Steps 2 and 4: the VIPs, bound before anything starts so that a taken port is reported
//! first, and served once their instances are ready.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::super::children::Group;
use super::super::error::UpError;
use super::super::mesh;
use super::super::ports::{self, PortPlan};
use super::super::state;
use super::{Launch, ReadyInstance};
use crate::service_proxy::{self, ServiceProxy};
use crate::services::ServiceName;

/// A VIP listener bound in step 2, served in step 4.
pub struct BoundVip {
    pub service: ServiceName,
    pub listener: TcpListener,
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
