//! Proxy status: every connected proxy and the version it has, like `istioctl proxy-status`.
//!
//! The same answer is served twice: on the gRPC port as the Admin service's `ProxyStatus`
//! (what `sailkit proxy-status` calls), and as JSON on the admin HTTP port's `/proxies` (for
//! `curl`).

use std::sync::Arc;

use mesh_api::v1::admin_server::{Admin, AdminServer};
use mesh_api::v1::{ProxyStatusRequest, ProxyStatusResponse};
use serde_json::{Value, json};
use tonic::{Request, Response, Status};

use crate::control_plane::ControlPlane;

/// The newest version and every connected proxy.
pub fn proxy_status(control: &ControlPlane) -> ProxyStatusResponse {
    let published = control.snapshot();
    let snapshot = &published.snapshot;
    ProxyStatusResponse {
        version: snapshot.version.clone(),
        config_version: snapshot.config_version.clone(),
        proxies: control.registry.states(),
    }
}

/// [`proxy_status`] as JSON, with the proto's field names.
pub fn to_json(status: &ProxyStatusResponse) -> Value {
    let proxies: Vec<Value> = status
        .proxies
        .iter()
        .map(|proxy| {
            json!({
                "proxy_id": proxy.proxy_id,
                "service": proxy.service,
                "address": proxy.address,
                "sent_version": proxy.sent_version,
                "acked_version": proxy.acked_version,
                "acked_config_version": proxy.acked_config_version,
                "nacked_version": proxy.nacked_version,
                "nack_error": proxy.nack_error,
            })
        })
        .collect();
    json!({
        "version": status.version,
        "config_version": status.config_version,
        "proxies": proxies,
    })
}

/// The service the generated `AdminServer` calls.
#[derive(Debug, Clone)]
pub struct AdminService {
    control: Arc<ControlPlane>,
}

/// The Admin gRPC server.
pub fn server(control: Arc<ControlPlane>) -> AdminServer<AdminService> {
    AdminServer::new(AdminService { control })
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn proxy_status(
        &self,
        _request: Request<ProxyStatusRequest>,
    ) -> Result<Response<ProxyStatusResponse>, Status> {
        Ok(Response::new(proxy_status(&self.control)))
    }
}
