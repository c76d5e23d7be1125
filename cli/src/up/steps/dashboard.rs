//! Step 2b, with the mesh: the mesh dashboard (`tools/dashboard`), served by the launcher itself,
//! started before the proxies and instances because they send it their spans; and step 3d,
//! once the proxies listen, the sidecars it scrapes for the graph and the control plane it asks
//! for the routing in force.

use std::net::SocketAddr;

use sailkit_dashboard::{Config, MetricsSource, Running, StartError};

use super::super::LOGS_DIR;
use super::super::error::UpError;
use super::super::ports::PortPlan;
use super::Launch;
use super::sidecars::Proxies;

/// Starts the dashboard on the stack's dashboard and OTLP ports, with no sidecar to scrape yet,
/// reading the proxies' access logs from `<data-dir>/logs`. `None` without the mesh or with
/// `--no-dashboard`.
pub async fn start_dashboard(
    launch: &Launch<'_>,
    ports: &PortPlan,
) -> Result<Option<Running>, UpError> {
    if !launch.mesh_on || launch.args.no_dashboard {
        return Ok(None);
    }
    let mut config = Config::local(MetricsSource::scrape(Vec::new()));
    config.listen = SocketAddr::from(([127, 0, 0, 1], ports.dashboard()));
    config.otlp = SocketAddr::from(([127, 0, 0, 1], ports.otlp()));
    config.access_logs = Some(launch.data_dir.join(LOGS_DIR));
    let running = sailkit_dashboard::start(config)
        .await
        .map_err(|error| match error {
            StartError::Listen(addr, source) => UpError::Bind {
                addr,
                wanted_by: "the mesh dashboard (--no-dashboard leaves it out)".into(),
                source,
            },
            StartError::ListenOtlp(addr, source) => UpError::Bind {
                addr,
                wanted_by: "the mesh dashboard's OTLP receiver (--no-dashboard leaves it out)"
                    .into(),
                source,
            },
        })?;
    Ok(Some(running))
}

/// Step 3d: the dashboard scrapes every sidecar's and the gateway's `/stats/prometheus`, and
/// asks the control plane (unless `--no-control-plane`) for the routing in force. The control
/// plane keeps its address when it restarts, so this is said once.
pub fn show_proxies(dashboard: Option<&Running>, proxies: &Proxies) {
    let Some(dashboard) = dashboard else {
        return;
    };
    let targets: Vec<String> = proxies
        .sidecars
        .iter()
        .flatten()
        .chain(&proxies.gateway)
        .map(|proxy| format!("http://{}", proxy.admin))
        .collect();
    dashboard.set_scrape_targets(&targets);
    if let Some(control) = &proxies.control {
        dashboard.set_control_plane(&format!("http://{}", control.grpc));
    }
}
