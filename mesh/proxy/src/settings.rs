//! The command line of `mesh-proxy`: where the config and the registry are, where to listen.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Everything the proxy is told at start.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mesh-proxy",
    about = "The sailkit sidecar: Istio VirtualService and DestinationRule YAML, applied to HTTP/1.1, HTTP/2 (h2c) and gRPC traffic."
)]
pub struct Settings {
    /// Directory of Istio YAML files (`*.yaml`, `*.yml`), re-read when a file changes.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Workload registry JSON (services, endpoint addresses, labels), re-read when it changes.
    #[arg(long, value_name = "FILE")]
    pub registry: PathBuf,
    /// Outbound listener: the application's `HTTP_PROXY`. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15001")]
    pub outbound: SocketAddr,
    /// Admin listener: `/ready`, `/config_dump`, `/stats`. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15000")]
    pub admin: SocketAddr,
    /// Inbound listener, in front of the local application (needs `--app`). Port 0 picks a
    /// free port.
    #[arg(long, value_name = "ADDR", requires = "app")]
    pub inbound: Option<SocketAddr>,
    /// The local application, where the inbound listener forwards (needs `--inbound`).
    #[arg(long, value_name = "ADDR", requires = "inbound")]
    pub app: Option<SocketAddr>,
    /// Write the bound addresses here once listening: `outbound=ADDR` and `admin=ADDR` lines
    /// (and `inbound=ADDR` with `--inbound`).
    #[arg(long, value_name = "FILE")]
    pub addr_file: Option<PathBuf>,
    /// Namespace of the workload: short host names (`reviews`) resolve in it.
    #[arg(long, default_value = "default")]
    pub namespace: String,
}
