//! The "Routing in force" section of `/workloads/{namespace}/{name}`: the VirtualServices and
//! DestinationRules for the workload's service (`--control-plane`), a warning when the control
//! plane does not answer, or without one, how to see them.

use super::AppState;
use crate::routing::{self, InForce};

/// The "Routing in force" section: the resources, or why there are none to show.
pub struct RoutingSection {
    /// Whether a control plane was given; without one the page says how to see the routing.
    pub configured: bool,
    /// The qualified host the resources were matched on.
    pub host: String,
    pub resources: Vec<InForce>,
    /// Why the control plane could not answer, if it could not.
    pub warning: Option<String>,
}

pub async fn routing_section(state: &AppState, namespace: &str, name: &str) -> RoutingSection {
    let app = routing::app_of(name);
    let control_plane = state
        .control_plane
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let mut section = RoutingSection {
        configured: control_plane.is_some(),
        host: mesh_config::host::qualify(app, namespace),
        resources: Vec::new(),
        warning: None,
    };
    if let Some(url) = control_plane {
        match routing::in_force(&url, app, namespace).await {
            Ok(resources) => section.resources = resources,
            Err(warning) => section.warning = Some(warning),
        }
    }
    section
}
