//! The start-up steps that `run_stack` (in `up/mod.rs`) calls in order, one function each.
//! Every task a step spawns goes into the [`Children`](super::children::Children) it is given,
//! so that whatever happens next, `run_stack` stops it in one place.
//!
//! - [`vips`]: step 2, [`claim_ports`]; step 4, [`start_vips`].
//! - [`dashboard`]: with the mesh, step 2b, [`start_dashboard`]; step 3d, [`show_proxies`].
//! - [`sidecars`]: with the mesh, step 3a, [`start_sidecars`]; step 3c, [`wait_mesh_ready`].
//! - [`instances`]: step 3b, [`start_instances`].
//! - here: what every step reads ([`Launch`]) and step 5, [`write_state`].

pub mod dashboard;
pub mod instances;
pub mod sidecars;
pub mod vips;

use std::path::{Path, PathBuf};

use super::APP_PATH;
use super::console::Console;
use super::error::UpError;
use super::mesh;
use super::plan;
use super::state::{self, Stack, StateFile};
use crate::cli::UpArgs;

pub use dashboard::{show_proxies, start_dashboard};
pub use instances::{ReadyInstance, start_instances};
pub use sidecars::{Proxies, start_sidecars, wait_mesh_ready};
pub use vips::{BoundVip, claim_ports, start_vips};

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
    pub fn instance_addr_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.addr"))
    }
}

/// Step 5a: publishes `run/stack.json`, and returns the summary table of the same stack.
pub fn write_state(
    launch: &Launch<'_>,
    state: &StateFile,
    front_door: String,
    vips: Vec<state::Vip>,
    ready: &[ReadyInstance],
    proxies: &Proxies,
    dashboard: Option<&sailkit_dashboard::Running>,
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
        control_plane: proxies.control.map(|c| state::ControlPlane {
            pid: c.pid,
            grpc: format!("http://{}", c.grpc),
            admin: format!("http://{}", c.admin),
        }),
        dashboard: dashboard.map(|d| state::Dashboard {
            url: format!("http://{}", d.http_addr),
            otlp: format!("http://{}", d.otlp_addr),
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
