//! The command line of `mesh-control`, and of `sailkit control`, which takes the same flags.
//!
//! The defaults are istiod's ports on loopback: 15010 is istiod's plaintext xDS port and 15014
//! its monitoring port, so a reader who knows Istio finds the control plane where they expect it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Everything the control plane is told at start.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mesh-control",
    about = "The sailkit control plane: reads Istio YAML from a folder (or the Kubernetes API), \
             learns the workloads from the proxies that register (and the EndpointSlices), and \
             pushes every proxy versioned snapshots over gRPC."
)]
pub struct Settings {
    /// Directory of Istio YAML files (`*.yaml`, `*.yml`), checked for changes every 500 ms, and
    /// where the Config API keeps what is applied. A file with errors is refused (its last good
    /// content stays in force). Without it the mesh has no routing config, only the services the
    /// proxies register.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Take the config and the workloads from the Kubernetes API instead of the folder: the
    /// `networking.istio.io/v1` VirtualServices, DestinationRules, Gateways and ServiceEntries
    /// (each admitted alone, as a file would be), and the Services' EndpointSlices with their
    /// Pods' labels (beside the proxies' registrations). The client comes from the usual places:
    /// the in-cluster service account, or KUBECONFIG / ~/.kube/config.
    #[arg(long, conflicts_with = "config_dir")]
    pub kubernetes: bool,
    /// With --kubernetes, watch this namespace only (all namespaces by default).
    #[arg(long, value_name = "NS", requires = "kubernetes")]
    pub watch_namespace: Option<String>,
    /// gRPC listener: the proxies' Discovery stream, the Admin API (`sailkit proxy-status`) and
    /// the Config API (`sailkit apply`, `sailkit delete`).
    /// Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15010")]
    pub grpc: SocketAddr,
    /// Admin HTTP listener: `/ready`, `/config_dump`, `/proxies`, `/metrics`. Port 0 picks a
    /// free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15014")]
    pub admin: SocketAddr,
    /// Once both listeners are bound, write their addresses here as `grpc=IP:PORT` and
    /// `admin=IP:PORT` lines (written whole: a reader never sees half a file).
    #[arg(long, value_name = "PATH")]
    pub addr_file: Option<PathBuf>,
    /// Quiet time, in milliseconds, after a change (a file edited, a proxy coming or going)
    /// before the new snapshot is pushed; a burst of changes is one push, sent at most one
    /// second after its first change. Istio's default is 100 ms too.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub debounce_ms: u64,
    /// How many proxies may be connected at once; a stream past it is refused with
    /// RESOURCE_EXHAUSTED, so a flood of registrations cannot grow memory without bound.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_proxies: usize,
    /// The namespace a registration that names none counts in.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub namespace: String,
    /// The cluster the workloads run in, as the snapshots' workload table (and so the proxies'
    /// metrics, `source_cluster` and `destination_cluster`) names it. `Kubernetes` is Istio's
    /// default cluster id.
    #[arg(long, value_name = "NAME", default_value = "Kubernetes")]
    pub cluster: String,
}

impl Settings {
    /// `--debounce-ms` as a duration.
    pub fn debounce(&self) -> Duration {
        Duration::from_millis(self.debounce_ms)
    }
}
