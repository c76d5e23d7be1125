//! The command line of `sailkit`, declared with clap's derive API.
//!
//! `sailkit` with no subcommand runs `up`, so that `cargo run` at the repository root starts the
//! stack; `up`'s options are therefore accepted at the top level too (`cargo run -- --port-base
//! 10080`). Mixing them with a subcommand is refused, to keep one meaning per command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use common::service::ListenArgs;
use sailkit_load::LoadArgs;

use crate::services::ServiceName;
use crate::up::plan::{Extra, Stage};

/// The default front door port, Bookinfo's 9080.
pub const DEFAULT_PORT_BASE: u16 = 9080;

#[derive(Debug, Parser)]
#[command(
    name = "sailkit",
    version,
    about = "Run the sailkit Bookinfo + banner stack on this machine",
    long_about = "Run the sailkit Bookinfo + banner stack on this machine.\n\n\
        With no subcommand, `sailkit` runs `sailkit up`: every service starts as its own local \
        process, behind one address per service, and the app is at \
        http://127.0.0.1:9080/productpage.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options for `up` when no subcommand is given.
    #[command(flatten)]
    pub up: UpArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the whole stack (the default): 8 service instances and one address per service, or
    /// with `--stage monolith` the whole app as one process.
    #[command(after_help = UP_AFTER_HELP)]
    Up(UpArgs),
    /// Run one service in the foreground, as its own binary would.
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Tell whether a stack is running from a data directory, and what it is made of.
    Status(StatusArgs),
    /// Send HTTP load to a URL and report status codes and latency percentiles (like fortio).
    // Boxed: its many flags would otherwise make every `Command` that large.
    Load(Box<LoadArgs>),
    /// Run the mesh sidecar (`mesh-proxy`, same flags): what `sailkit up` starts beside
    /// every instance.
    // Boxed, like `Load`.
    Proxy(Box<mesh_proxy::Settings>),
    /// Validate Istio YAML (VirtualService, DestinationRule, ...) and put it in force in the
    /// mesh of a running `sailkit up`; `--list` shows what is in force.
    #[command(after_help = crate::apply::APPLY_AFTER_HELP)]
    Apply(crate::apply::ApplyArgs),
    /// Take Istio resources out of force in the mesh of a running `sailkit up`: those a file
    /// defines, or KIND/NAME (`vs/reviews`), as `kubectl delete` does.
    #[command(after_help = crate::delete::DELETE_AFTER_HELP)]
    Delete(crate::delete::DeleteArgs),
    /// Run the mesh's control plane (`mesh-control`, same flags): what `sailkit up` starts
    /// first with the mesh, and every proxy connects to.
    // Boxed, like `Proxy`.
    Control(Box<mesh_control::Settings>),
    /// List the proxies connected to the control plane, the config version each has, and
    /// whether it is in sync (SYNCED, STALE, or NACKED with the error), like `istioctl
    /// proxy-status`.
    ProxyStatus(crate::proxy_status::ProxyStatusArgs),
    /// Show what one proxy of the running stack holds: the routes of its listener, the clusters
    /// (services and subsets, with their policy) or the endpoints (with their outlier state),
    /// like `istioctl proxy-config`.
    #[command(after_help = crate::proxy_config::PROXY_CONFIG_AFTER_HELP)]
    ProxyConfig(crate::proxy_config::ProxyConfigArgs),
    /// Look for mistakes the schema cannot see in Istio YAML (by default the config in force):
    /// routes to hosts or subsets that do not exist, rules an earlier catch-all hides, subsets
    /// that select no workload, VirtualServices bound to a missing Gateway; like `istioctl
    /// analyze`.
    #[command(after_help = crate::analyze::ANALYZE_AFTER_HELP)]
    Analyze(crate::analyze::AnalyzeArgs),
    #[command(about = crate::lint::ABOUT, after_help = crate::lint::LINT_AFTER_HELP)]
    Lint(crate::lint::LintArgs),
    /// Serve the mesh dashboard: the live service graph from Istio's metrics (scraped from the
    /// sidecars, or from Prometheus) and the recent traces it receives over OTLP, like Kiali
    /// and Jaeger in one page.
    #[command(after_help = sailkit_dashboard::DASHBOARD_AFTER_HELP)]
    Dashboard(sailkit_dashboard::DashboardArgs),
}

const UP_AFTER_HELP: &str = "\
Ports (with the default --port-base 9080):
  9080  productpage  (the front door: http://127.0.0.1:9080/productpage)
  9081  details      9082 reviews     9083 ratings     9084 banner
  9088  istio-ingressgateway (the mesh's ingress gateway; not with --no-mesh)
  9089  sailkit-control, the mesh's control plane (gRPC; not with --no-mesh or --no-control-plane)
  9100+ the instances, one port each (productpage-v1, details-v1, reviews-v1..v3, ...), then
        the --extra ones
With --port-base 0 every port is chosen by the operating system; read them from
<data-dir>/run/stack.json or with `sailkit status`.

The mesh (the default): every instance has a sidecar, <instance>-sidecar, and reaches its peers by
name through it (reviews:9080); the routing is the Istio YAML in <data-dir>/mesh/config/, changed
with `sailkit apply FILE` while the stack runs, which the control plane, sailkit-control, pushes to
every proxy (`sailkit proxy-status` lists them). --no-mesh: no sidecars, peers through the VIPs.

--extra ratings-v-faulty adds an instance, labelled app=ratings, version=v-faulty, behind the
ratings address (and so in its round robin) and in the mesh, where a DestinationRule subset can
select it. The variants' RATINGS_FAULT_* variables (see `ratings --help`) are read from the
launcher's environment: RATINGS_FAULT_PROBABILITY=1 sailkit up --extra ratings-v-faulty.

With --stage monolith: one process, `monolith`, serves the whole app (banner API and admin too) behind
the front door, 9080; its one database is <data-dir>/monolith.db.

Stop with Ctrl-C (or SIGTERM): every instance is stopped, then the launcher exits.";

const SERVE_AFTER_HELP: &str = "\
Each service reads its settings from environment variables; see `<service> --help` for the
list (for example `cargo run -p reviews -- --help`). `sailkit up` runs its instances this way.";

/// Where `up` keeps its files, shared by `up` and `status`.
#[derive(Debug, Clone, Args)]
pub struct DataDirArg {
    /// Folder for the SQLite files, `run/` (address files, stack.json, lock) and `logs/`.
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Which shape of the app to run: every service its own process (`services`), or the
    /// whole app in one process (`monolith`), where the story starts.
    #[arg(long, value_enum, default_value_t = Stage::Services)]
    pub stage: Stage,

    /// First port: the front door listens on it, the other services on the next four, the
    /// mesh's ingress gateway on PORT+8, the instances from PORT+20 upward. 0 lets the
    /// operating system choose every port.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PORT_BASE)]
    pub port_base: u16,

    #[command(flatten)]
    pub data_dir: DataDirArg,

    /// Leave an instance stopped when it crashes, instead of restarting it with a back-off.
    #[arg(long)]
    pub no_restart: bool,

    /// A mesh sidecar beside every instance (the default, services stage only): services call
    /// their peers by name through it, and `sailkit apply` changes the routing. The ingress
    /// gateway `istio-ingressgateway` comes with it, on PORT+8 (see `--port-base`).
    #[arg(long, conflicts_with = "no_mesh")]
    pub mesh: bool,

    /// No sidecars (and no gateway): peers are reached through the VIPs, round robin, to
    /// compare with the mesh.
    #[arg(long)]
    pub no_mesh: bool,

    /// Also put each sidecar in front of its instance (an inbound listener, as Istio does): the
    /// registry and the VIPs then point at the sidecars, and every call crosses the caller's
    /// sidecar and the callee's. Off by default: on two cores the extra hop per call costs about
    /// 40 % of the pages per second (docs/benchmarks.md).
    #[arg(long, conflicts_with = "no_mesh")]
    pub inbound: bool,

    /// No control plane: each proxy reads <data-dir>/mesh/config itself, and the launcher
    /// writes the workloads into <data-dir>/mesh/registry.json (how the mesh ran before it had
    /// one; kept for teaching and for tests of the proxy alone). By default the mesh's control
    /// plane, `sailkit-control` on PORT+9, serves the folder to every proxy over gRPC, and the
    /// sidecars register their instances with it.
    #[arg(long, conflicts_with = "no_mesh")]
    pub no_control_plane: bool,

    /// No mesh dashboard. By default, with the mesh, the launcher serves the dashboard (the
    /// service graph from the sidecars' Istio metrics, and the traces) on PORT+6, receives
    /// OTLP traces on PORT+7, and every sidecar and instance sends it every request's spans.
    #[arg(long, conflicts_with = "no_mesh")]
    pub no_dashboard: bool,

    /// Also start this instance, `<service>-<version>` (repeatable): a ratings variant that
    /// misbehaves on purpose (ratings-v-faulty, -v-delayed, -v-unavailable, -v-unhealthy), for
    /// retries and outlier detection to work on. Services stage only.
    #[arg(
        long,
        value_name = "INSTANCE",
        value_parser = clap::builder::ValueParser::new(str::parse::<Extra>),
        conflicts_with = "stage"
    )]
    pub extra: Vec<Extra>,

    /// The VIPs' head and idle timeouts and their cap on connections (each VIP its own), with
    /// the sidecar's flags and defaults. The services read `SAILKIT_HEADER_TIMEOUT_MS`,
    /// `SAILKIT_IDLE_TIMEOUT_MS` and `SAILKIT_MAX_CONNECTIONS` from the launcher's environment.
    #[command(flatten)]
    pub connections: mesh_proxy::settings::ConnectionLimits,
}

impl UpArgs {
    /// Whether the mesh runs with its control plane (unless `--no-control-plane`).
    pub fn control_plane(&self) -> bool {
        !self.no_control_plane
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The service to run.
    #[arg(value_enum)]
    pub service: ServiceName,

    #[command(flatten)]
    pub listen: ListenArgs,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub data_dir: DataDirArg,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_up_with_its_options() {
        let cli = Cli::try_parse_from(["sailkit", "--port-base", "0"]).expect("valid");
        assert!(cli.command.is_none());
        assert_eq!(cli.up.port_base, 0);
        assert_eq!(cli.up.data_dir.data_dir, PathBuf::from("data"));
        assert_eq!(cli.up.stage, Stage::Services);
    }

    #[test]
    fn the_stage_is_chosen_with_or_without_the_up_subcommand() {
        let bare = Cli::try_parse_from(["sailkit", "--stage", "monolith"]).expect("valid");
        assert_eq!(bare.up.stage, Stage::Monolith);
        let up = Cli::try_parse_from(["sailkit", "up", "--stage", "monolith"]).expect("valid");
        let Some(Command::Up(args)) = up.command else {
            panic!("expected up");
        };
        assert_eq!(args.stage, Stage::Monolith);
        assert!(Cli::try_parse_from(["sailkit", "--stage", "microliths"]).is_err());
    }

    #[test]
    fn the_monolith_can_be_served_alone() {
        let cli = Cli::try_parse_from(["sailkit", "serve", "monolith"]).expect("valid");
        let Some(Command::Serve(args)) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(args.service, ServiceName::Monolith);
    }

    #[test]
    fn serve_takes_a_service_a_port_and_an_address() {
        let cli =
            Cli::try_parse_from(["sailkit", "serve", "reviews", "9102", "--bind", "127.0.0.1"])
                .expect("valid");
        let Some(Command::Serve(args)) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(args.service, ServiceName::Reviews);
        assert_eq!(args.listen.port, 9102);
        assert_eq!(args.listen.bind.to_string(), "127.0.0.1");
    }

    #[test]
    fn up_options_cannot_be_mixed_with_a_subcommand() {
        assert!(Cli::try_parse_from(["sailkit", "--port-base", "0", "status"]).is_err());
    }

    #[test]
    fn load_takes_fortio_like_flags() {
        let cli = Cli::try_parse_from([
            "sailkit",
            "load",
            "-c",
            "2",
            "--qps",
            "0",
            "-n",
            "20",
            "http://127.0.0.1:9080/",
        ])
        .expect("valid");
        let Some(Command::Load(args)) = cli.command else {
            panic!("expected load");
        };
        assert_eq!(args.connections, 2);
        assert_eq!(args.requests, Some(20));
        assert_eq!(args.duration, None);
        assert!(Cli::try_parse_from(["sailkit", "load", "--streams", "2", "http://a/"]).is_err());
    }

    #[test]
    fn dashboard_takes_a_metrics_source_and_its_addresses() {
        let cli = Cli::try_parse_from([
            "sailkit",
            "dashboard",
            "--prometheus",
            "http://127.0.0.1:9090",
            "--otlp",
            "127.0.0.1:4317",
            "--listen",
            "127.0.0.1:0",
        ])
        .expect("valid");
        let Some(Command::Dashboard(args)) = cli.command else {
            panic!("expected dashboard");
        };
        assert_eq!(args.prometheus.as_deref(), Some("http://127.0.0.1:9090"));
        assert_eq!(args.listen.port(), 0);
        assert!(Cli::try_parse_from(["sailkit", "dashboard"]).is_err());
    }

    #[test]
    fn the_mesh_can_be_left_out_and_proxy_takes_mesh_proxy_flags() {
        let cli = Cli::try_parse_from(["sailkit", "up", "--no-mesh"]).expect("valid");
        let Some(Command::Up(args)) = cli.command else {
            panic!("expected up");
        };
        assert!(args.no_mesh);
        assert!(!Cli::try_parse_from(["sailkit"]).expect("valid").up.no_mesh);
        assert!(Cli::try_parse_from(["sailkit", "--mesh", "--no-mesh"]).is_err());
        let cli = Cli::try_parse_from([
            "sailkit",
            "proxy",
            "--registry",
            "r.json",
            "--outbound",
            "127.0.0.1:0",
        ])
        .expect("valid");
        let Some(Command::Proxy(settings)) = cli.command else {
            panic!("expected proxy");
        };
        assert_eq!(settings.registry, PathBuf::from("r.json"));
        assert_eq!(settings.outbound.port(), 0);
    }

    #[test]
    fn extra_instances_are_repeatable_checked_and_services_only() {
        let cli = Cli::try_parse_from([
            "sailkit",
            "--extra",
            "ratings-v-faulty",
            "--extra",
            "ratings-v-unavailable",
        ])
        .expect("valid");
        let names: Vec<_> = cli.up.extra.iter().map(|e| e.name()).collect();
        assert_eq!(names, ["ratings-v-faulty", "ratings-v-unavailable"]);
        assert!(
            Cli::try_parse_from(["sailkit"])
                .expect("valid")
                .up
                .extra
                .is_empty()
        );
        let refused = Cli::try_parse_from(["sailkit", "up", "--extra", "ratings-v7"])
            .expect_err("no such version")
            .to_string();
        assert!(refused.contains("ratings has no version `v7`"), "{refused}");
        assert!(
            Cli::try_parse_from([
                "sailkit",
                "--stage",
                "monolith",
                "--extra",
                "ratings-v-faulty"
            ])
            .is_err()
        );
    }

    #[test]
    fn apply_takes_files_or_list() {
        let cli = Cli::try_parse_from(["sailkit", "apply", "a.yaml", "b.yaml"]).expect("valid");
        let Some(Command::Apply(args)) = cli.command else {
            panic!("expected apply");
        };
        assert_eq!(args.files.len(), 2);
        assert!(Cli::try_parse_from(["sailkit", "apply"]).is_err());
        assert!(Cli::try_parse_from(["sailkit", "apply", "--list"]).is_ok());
    }

    #[test]
    fn delete_takes_targets_a_namespace_and_a_control_plane() {
        let cli = Cli::try_parse_from([
            "sailkit",
            "delete",
            "vs/reviews",
            "a.yaml",
            "-n",
            "test",
            "--control-plane",
            "http://127.0.0.1:15010",
        ])
        .expect("valid");
        let Some(Command::Delete(args)) = cli.command else {
            panic!("expected delete");
        };
        assert_eq!(args.targets, ["vs/reviews", "a.yaml"]);
        assert_eq!(args.namespace, "test");
        assert!(Cli::try_parse_from(["sailkit", "delete"]).is_err());
    }

    #[test]
    fn unknown_services_are_refused() {
        assert!(Cli::try_parse_from(["sailkit", "serve", "mongodb"]).is_err());
    }
}
