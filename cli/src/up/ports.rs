//! Which port each listener of the stack gets, and binding them with errors a person can act on.
//!
//! From `--port-base B` (default 9080): the service VIPs take `B..B+4` in the order of
//! [`ServiceName::ALL`] (so the front door, productpage, is `B`), the mesh's ingress gateway
//! `B+8`, the control plane `B+9`, the mesh dashboard `B+6` (its OTLP receiver `B+7`), the
//! instances `B+20` upward.
//! `--port-base 0` gives every listener port 0: the operating system picks a free port for each,
//! which is what the tests use so that several stacks can run at once.

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};

use tokio::net::TcpListener;

use super::error::UpError;
use crate::services::ServiceName;

/// Instances start this far above the base: 9080 + 20 = 9100.
const INSTANCE_OFFSET: u16 = 20;
/// The ingress gateway is this far above the base: 9080 + 8 = 9088.
const GATEWAY_OFFSET: u16 = 8;
/// The control plane's gRPC port (with the mesh) is this far above: 9080 + 9 = 9089.
const CONTROL_OFFSET: u16 = 9;
/// The mesh dashboard's pages: 9080 + 6 = 9086; its OTLP trace receiver: 9087.
const DASHBOARD_OFFSET: u16 = 6;
const OTLP_OFFSET: u16 = 7;

/// The ports of one stack.
#[derive(Debug, Clone, Copy)]
pub struct PortPlan {
    base: u16,
}

impl PortPlan {
    /// The ports above `base`, for `instances` instances; refused when they would not fit
    /// below 65536.
    pub fn new(base: u16, instances: usize) -> Result<Self, UpError> {
        let highest =
            u32::from(base) + u32::from(INSTANCE_OFFSET) + instances.saturating_sub(1) as u32;
        if base != 0 && highest > u32::from(u16::MAX) {
            return Err(UpError::PortBaseTooHigh { base, highest });
        }
        Ok(Self { base })
    }

    /// True when the operating system picks every port (`--port-base 0`).
    pub fn is_dynamic(&self) -> bool {
        self.base == 0
    }

    /// The port of a service's VIP.
    pub fn vip(&self, service: ServiceName) -> u16 {
        let index = ServiceName::ALL
            .iter()
            .position(|s| *s == service)
            .unwrap_or_default();
        self.offset(index as u16)
    }

    /// The port of the ingress gateway (with the mesh).
    pub fn gateway(&self) -> u16 {
        self.offset(GATEWAY_OFFSET)
    }

    /// The control plane's gRPC port (with the mesh).
    pub fn control_plane(&self) -> u16 {
        self.offset(CONTROL_OFFSET)
    }

    /// The mesh dashboard's pages (with the mesh).
    pub fn dashboard(&self) -> u16 {
        self.offset(DASHBOARD_OFFSET)
    }

    /// The mesh dashboard's OTLP trace receiver (with the mesh).
    pub fn otlp(&self) -> u16 {
        self.offset(OTLP_OFFSET)
    }

    /// The port of the `index`-th instance, in plan order.
    pub fn instance(&self, index: usize) -> u16 {
        self.offset(INSTANCE_OFFSET + index as u16)
    }

    fn offset(&self, by: u16) -> u16 {
        if self.is_dynamic() { 0 } else { self.base + by }
    }

    /// A base to suggest when a port is taken: the same layout 1000 ports higher, if it fits.
    pub fn suggestion(&self) -> u16 {
        match self.base.checked_add(1000) {
            Some(next) if self.base != 0 && next < 60000 => next,
            _ => 0,
        }
    }
}

/// Binds a VIP on 127.0.0.1. A port in use becomes [`UpError::PortInUse`], naming the service.
pub async fn bind_vip(plan: &PortPlan, service: ServiceName) -> Result<TcpListener, UpError> {
    let port = plan.vip(service);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr).await.map_err(|source| {
        bind_error(
            plan,
            addr,
            format!("the {service} service address (VIP)"),
            source,
        )
    })
}

/// Checks that an instance's (or the gateway's) port is free before it is started, so that a
/// taken port is reported in the launcher's words rather than as a child's exit code. (The
/// child binds it itself a moment later; in between, another program could take it, and then
/// the child's exit code tells.)
pub fn check_free(plan: &PortPlan, port: u16, instance: &str) -> Result<(), UpError> {
    if port == 0 {
        return Ok(());
    }
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    StdListener::bind(addr)
        .map(drop)
        .map_err(|source| bind_error(plan, addr, format!("instance {instance}"), source))
}

/// The error for a port that could not be bound.
pub fn bind_error(
    plan: &PortPlan,
    addr: SocketAddr,
    wanted_by: String,
    source: std::io::Error,
) -> UpError {
    if source.kind() == std::io::ErrorKind::AddrInUse {
        UpError::PortInUse {
            port: addr.port(),
            wanted_by,
            suggestion: plan.suggestion(),
        }
    } else {
        UpError::Bind {
            addr,
            wanted_by,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_layout_is_bookinfos_port_and_up() {
        let plan = PortPlan::new(9080, 8).expect("fits");
        assert_eq!(plan.vip(ServiceName::Productpage), 9080);
        assert_eq!(plan.vip(ServiceName::Details), 9081);
        assert_eq!(plan.vip(ServiceName::Reviews), 9082);
        assert_eq!(plan.vip(ServiceName::Ratings), 9083);
        assert_eq!(plan.vip(ServiceName::Banner), 9084);
        assert_eq!(plan.gateway(), 9088);
        assert_eq!(plan.instance(0), 9100);
        assert_eq!(plan.instance(7), 9107);
    }

    #[test]
    fn base_zero_lets_the_system_choose_every_port() {
        let plan = PortPlan::new(0, 8).expect("fits");
        assert_eq!(plan.vip(ServiceName::Banner), 0);
        assert_eq!(plan.instance(3), 0);
        assert_eq!(plan.gateway(), 0);
        assert_eq!(plan.suggestion(), 0);
    }

    #[test]
    fn a_base_too_high_is_refused() {
        assert!(PortPlan::new(65530, 8).is_err());
        assert!(PortPlan::new(65509, 8).is_err());
        assert!(PortPlan::new(65508, 8).is_ok());
    }

    #[tokio::test]
    async fn a_taken_port_names_the_service_that_wanted_it() {
        let taken = StdListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let plan = PortPlan::new(port - 3, 8).expect("fits");
        let error = bind_vip(&plan, ServiceName::Ratings)
            .await
            .expect_err("port is taken");
        let text = error.to_string();
        assert!(text.contains(&port.to_string()), "{text}");
        assert!(text.contains("ratings"), "{text}");
        assert!(text.contains("--port-base"), "{text}");
    }
}
