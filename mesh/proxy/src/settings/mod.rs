//! The command line of `mesh-proxy`: where the config and the registry are (or the control
//! plane), where to listen.
//!
//! - `labels`: `--label KEY=VALUE`, checked with Kubernetes' label syntax;
//! - `control_plane`: `--control-plane`'s URL, and the proxy id and service its Register
//!   carries by default;
//! - `telemetry`: `--trace-sampling` and `--otlp-endpoint`.

mod control_plane;
mod labels;
mod telemetry;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use listener::Limits;

pub use control_plane::HostPort;
use control_plane::{advertise_address, control_plane_url, registry_path};
use labels::parse_label;
pub use telemetry::TraceSettings;

/// The flags of the file source of config, which `--control-plane` replaces.
const FILE_SOURCES: [&str; 2] = ["config_dir", "registry"];

/// Everything the proxy is told at start.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mesh-proxy",
    about = "The sailkit sidecar: Istio VirtualService and DestinationRule YAML, applied to HTTP/1.1, HTTP/2 (h2c) and gRPC traffic."
)]
// What reads the application's address: the inbound listener, or the registration with the
// control plane.
#[command(group(
    clap::ArgGroup::new("app_user")
        .args(["inbound", "control_plane"])
        .multiple(true)
))]
pub struct Settings {
    /// Directory of Istio YAML files (`*.yaml`, `*.yml`), re-read when a file changes.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Workload registry JSON (services, endpoint addresses, labels), re-read when it changes.
    /// Required unless `--control-plane` is given.
    // Empty (and unused) with `--control-plane`: the field stays a plain path for callers.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "control_plane",
        default_value = "",
        hide_default_value = true,
        value_parser = registry_path
    )]
    pub registry: PathBuf,
    /// Take the config and the endpoints from the control plane at URL
    /// (`http://127.0.0.1:15010`) instead of files: one source of config at a time, so not
    /// with `--config-dir` or `--registry`.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with_all = FILE_SOURCES,
        value_parser = control_plane_url
    )]
    pub control_plane: Option<String>,
    /// With `--control-plane`: this proxy's unique id (`reviews-v2`). Default: the `app` and
    /// `version` labels joined by `-`, when both are given.
    #[arg(
        long,
        value_name = "ID",
        requires = "control_plane",
        conflicts_with_all = FILE_SOURCES
    )]
    pub proxy_id: Option<String>,
    /// With `--control-plane`: the service this workload is an instance of. Default: the `app`
    /// label (none for a gateway, which no one calls through the mesh).
    #[arg(
        long,
        value_name = "NAME",
        requires = "control_plane",
        conflicts_with_all = FILE_SOURCES
    )]
    pub service: Option<String>,
    /// With `--control-plane`: the workload's service account (`bookinfo-reviews`).
    #[arg(
        long,
        value_name = "NAME",
        requires = "control_plane",
        conflicts_with_all = FILE_SOURCES
    )]
    pub service_account: Option<String>,
    /// With `--control-plane`: where peers reach this workload, `IP:PORT` or `HOST:PORT` (a
    /// name is resolved once, at the first registration). Default: the inbound listener's
    /// address (else the application's); when that is 0.0.0.0, as in a container, the address
    /// this machine's host name resolves to (Docker writes it in /etc/hosts), same port.
    #[arg(
        long,
        value_name = "HOST:PORT",
        requires = "control_plane",
        conflicts_with_all = FILE_SOURCES,
        value_parser = advertise_address
    )]
    pub advertise_address: Option<HostPort>,
    /// The workload's name in metrics (`source_workload`, `destination_workload`), and in the
    /// control plane's workload table: what the instances of one version share, as a
    /// Deployment's name (`reviews-v2`). Default: the `app` and `version` labels joined by `-`,
    /// else the service, else the proxy id.
    #[arg(long, value_name = "NAME")]
    pub workload: Option<String>,
    /// The cluster this workload runs in (`source_cluster`, `destination_cluster` in metrics).
    /// `Kubernetes` is Istio's default cluster id.
    #[arg(long, value_name = "NAME", default_value = "Kubernetes")]
    pub cluster: String,
    /// Outbound listener: the application's `HTTP_PROXY`. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15001")]
    pub outbound: SocketAddr,
    /// Admin listener: `/ready`, `/config_dump`, `/stats`. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15000")]
    pub admin: SocketAddr,
    /// Inbound listener, in front of the local application (needs `--app` or
    /// `--app-addr-file`). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", requires = "app_source")]
    pub inbound: Option<SocketAddr>,
    /// The local application, where the inbound listener forwards (needs `--inbound`).
    #[arg(long, value_name = "ADDR", requires = "inbound", group = "app_source")]
    pub app: Option<SocketAddr>,
    /// Instead of `--app`: a file holding the application's address as plain `IP:PORT` (what
    /// a sailkit service writes to `$SAILKIT_ADDR_FILE`), re-read when it changes. Until it
    /// holds an address, the inbound listener answers 503 and `/ready` says why. With
    /// `--control-plane` and no `--inbound`, it is the address the proxy registers for its
    /// workload (peers then reach the application directly).
    #[arg(long, value_name = "FILE", requires = "app_user", group = "app_source")]
    pub app_addr_file: Option<PathBuf>,
    /// Write the bound addresses here once listening: `outbound=ADDR` and `admin=ADDR` lines
    /// (and `inbound=ADDR` with `--inbound`).
    #[arg(long, value_name = "FILE")]
    pub addr_file: Option<PathBuf>,
    /// Namespace of the workload: short host names (`reviews`) resolve in it.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// A label of this workload, `KEY=VALUE`: what a VirtualService's `match[].sourceLabels`
    /// compares with. Repeat it (`--label app=reviews --label version=v2`) or list several
    /// (`--labels app=reviews,version=v2`); a key given twice keeps its last value.
    #[arg(
        long = "label",
        visible_alias = "labels",
        value_name = "KEY=VALUE",
        value_delimiter = ',',
        value_parser = parse_label
    )]
    pub labels: Vec<(String, String)>,
    /// Threads that serve requests. One (the default) runs everything on a single thread with
    /// no cross-thread hand-offs, which is the cheapest per request; a sidecar serves one
    /// application, and one core carries tens of thousands of requests per second.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,
    /// Run as the ingress gateway NAME (`bookinfo-gateway`, or `NAMESPACE/NAME`) instead of a
    /// sidecar: the outbound listener then takes requests from outside the mesh and routes them
    /// with the VirtualServices bound to that Gateway (their `gateways:` list), not with the
    /// mesh's. A host or path none of them routes is 404 `NR`: a gateway has no default route.
    #[arg(long, value_name = "NAME", conflicts_with = "inbound")]
    pub gateway: Option<String>,
    /// With `--gateway`: the port of the Gateway's `servers[]` this listener stands for (only
    /// servers on that port let anything in, and `match[].port` sees it). Default: the outbound
    /// listener's own port. `sailkit up` gives 8080, the port Bookinfo's Gateway declares, to its
    /// gateway listening on 9088, as a container's port mapping would.
    #[arg(long, value_name = "PORT", requires = "gateway", value_parser = clap::value_parser!(u16).range(1..))]
    pub gateway_port: Option<u16>,
    /// Where the access log goes: `stdout` (one line per request, written in batches at least
    /// every 100 ms) or `off`.
    #[arg(long, value_name = "WHERE", value_enum, default_value_t = crate::log_buffer::Destination::Stdout)]
    pub access_log: crate::log_buffer::Destination,
    /// Head and idle timeouts and the connection cap, the same on every listener.
    #[command(flatten)]
    pub connections: ConnectionLimits,
    /// Trace sampling and the collector the spans go to.
    #[command(flatten)]
    pub tracing: TraceSettings,
}

/// The limits every listener applies to its clients' connections (see the `listener` crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct ConnectionLimits {
    /// How long a client may take to send a whole request head (request line and headers), in
    /// milliseconds, from its first byte (on a new connection, from the accept); then its
    /// connection is closed. On every listener.
    #[arg(long, value_name = "MS", default_value_t = millis(Limits::DEFAULT_HEAD_TIMEOUT), value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: u64,
    /// How long a keep-alive connection may wait for its next request, in milliseconds; then it
    /// is closed (HTTP/2: told to go away). On every listener.
    #[arg(long, value_name = "MS", default_value_t = millis(Limits::DEFAULT_IDLE_TIMEOUT), value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_ms: u64,
    /// Connections each listener serves at once; past it a new connection is answered 503 and
    /// closed, and a warning is logged (at most every 10 s).
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl ConnectionLimits {
    /// As the `listener` crate takes them.
    pub fn limits(&self) -> Limits {
        Limits {
            head_timeout: Duration::from_millis(self.header_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            max_connections: self.max_connections,
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout_ms: millis(Limits::DEFAULT_HEAD_TIMEOUT),
            idle_timeout_ms: millis(Limits::DEFAULT_IDLE_TIMEOUT),
            max_connections: Limits::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// A default duration as the whole milliseconds its flag takes.
const fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

impl Settings {
    /// The limits every listener applies to its connections.
    pub fn limits(&self) -> Limits {
        self.connections.limits()
    }

    /// The async runtime these settings ask for: single-threaded with `--workers 1`.
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let mut builder = if self.workers == 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(usize::from(self.workers));
            builder
        };
        builder.enable_all().build()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::Settings;

    #[test]
    fn the_inbound_listener_names_its_application_one_way() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["mesh-proxy", "--registry", "registry.json"];
            args.extend_from_slice(extra);
            Settings::try_parse_from(args)
        };
        let by_file = parse(&["--inbound", "127.0.0.1:0", "--app-addr-file", "app.addr"])
            .expect("--inbound with --app-addr-file");
        assert_eq!(by_file.app, None);
        assert!(by_file.app_addr_file.is_some());
        assert!(parse(&["--inbound", "127.0.0.1:0", "--app", "127.0.0.1:1"]).is_ok());
        // With the control plane, the file is the workload's address to register.
        let control = Settings::try_parse_from([
            "mesh-proxy",
            "--control-plane",
            "http://127.0.0.1:15010",
            "--proxy-id",
            "reviews-v2",
            "--app-addr-file",
            "app.addr",
        ])
        .expect("--app-addr-file with --control-plane");
        assert!(control.inbound.is_none() && control.app_addr_file.is_some());
        for bad in [
            &["--inbound", "127.0.0.1:0"][..],
            &["--app-addr-file", "app.addr"],
            &[
                "--inbound",
                "127.0.0.1:0",
                "--app",
                "127.0.0.1:1",
                "--app-addr-file",
                "app.addr",
            ],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn the_config_comes_from_files_or_from_the_control_plane_never_both() {
        let parse = |args: &[&str]| {
            Settings::try_parse_from(std::iter::once("mesh-proxy").chain(args.iter().copied()))
                .map_err(|e| e.to_string())
        };
        let url = "http://127.0.0.1:15010";
        let control = parse(&["--control-plane", url]).expect("--control-plane alone");
        assert_eq!(control.control_plane.as_deref(), Some(url));
        assert_eq!(control.registry, std::path::PathBuf::new());
        for other in [["--registry", "r.json"], ["--config-dir", "networking"]] {
            let error = parse(&["--control-plane", url, other[0], other[1]]).expect_err("both");
            assert!(error.contains("cannot be used with"), "{error}");
        }
        let error = parse(&[]).expect_err("no source");
        assert!(error.contains("--registry"), "{error}");
        // The control plane's flags mean nothing with files.
        for flag in ["--proxy-id", "--service", "--service-account"] {
            let error = parse(&[flag, "x"]).expect_err(flag);
            assert!(error.contains("--control-plane"), "{flag}: {error}");
            assert!(
                parse(&["--registry", "r.json", flag, "x"]).is_err(),
                "{flag}"
            );
        }
        for bad in ["127.0.0.1:15010", "https://cp:15010", "http://"] {
            let error = parse(&["--control-plane", bad]).expect_err(bad);
            assert!(error.contains("http://"), "{bad}: {error}");
        }
    }
}
