//! `sailkit`: the command that runs the kit on your machine.
//!
//! `cargo run` at the repository root runs `sailkit up`, which starts the whole Bookinfo app plus
//! the banner service as separate local processes, with no Docker and no database server
//! (SQLite files in `data/`). It plays, in miniature, the parts Kubernetes plays in a cluster:
//!
//! | Kubernetes                      | `sailkit up`                                             |
//! |---------------------------------|----------------------------------------------------------|
//! | Deployment `reviews-v2`         | an instance: a child process `sailkit serve reviews`     |
//! | container env from the manifest | [`up::plan`]: the env each instance starts with          |
//! | kubelet (start, probe, restart) | [`up::instance`]: spawn, wait for `/health`, restart     |
//! | Service + kube-proxy            | [`service_proxy`]: one address per service, round robin  |
//! | Istio sidecar + `kubectl apply` | [`proxy`] beside each instance, [`apply`]                |
//!
//! One binary serves every role: `sailkit serve <service>` runs one service in the foreground,
//! exactly like that service's own binary, and `sailkit up` starts its children as
//! `sailkit serve ...` from its own executable. Each service is still its own OS process.
//!
//! Layout:
//! - [`cli`]: the command line (clap), with `--help` on every command.
//! - [`services`]: the five services and the monolith, by name, and `sailkit serve`.
//! - [`up`]: `sailkit up`, the local launcher (one file per job, see its docs).
//! - [`service_proxy`]: the service "VIPs": a small layer-7 kube-proxy.
//! - [`status`]: `sailkit status`, what a running launcher reports in its state file.
//! - `sailkit load` is the crate `sailkit_load` (`tools/load`): an HTTP load generator
//!   (fortio-like) for the mesh chapters; this crate only parses its flags and calls it.
//! - [`proxy`]: `sailkit proxy`, the mesh sidecar (`mesh-proxy`) run from this binary.
//! - [`apply`]: `sailkit apply`, validates Istio YAML and puts it in force in a running mesh,
//!   through its control plane's Config API; [`delete`]: `sailkit delete`, takes it out.
//! - [`proxy_config`]: `sailkit proxy-config`, what one proxy holds (routes, clusters, endpoints).
//! - [`analyze`]: `sailkit analyze`, the checks beyond the schema, with Istio's message codes.
//! - [`lint`]: `sailkit lint`, rendered Kubernetes manifests checked by the `manifest-lint`
//!   crate (`tools/manifest-lint`).
//! - `sailkit dashboard` is the crate `sailkit_dashboard` (`tools/dashboard`): the mesh's
//!   service graph and traces; this crate only declares its flags and calls it.
//! - [`admin_http`]: reading a JSON admin page (`/config_dump`) of the running stack.

pub mod admin_http;
pub mod analyze;
pub mod apply;
pub mod cli;
pub mod control;
pub mod delete;
pub mod lint;
pub mod proxy;
pub mod proxy_config;
pub mod proxy_status;
pub mod service_proxy;
pub mod services;
pub mod status;
pub mod up;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// The whole `main` of the `sailkit` binary: parse the command line, run the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // No subcommand means `up`, so that `cargo run` starts the stack.
        None => up::main(cli.up),
        Some(Command::Up(args)) => up::main(args),
        Some(Command::Serve(args)) => services::serve(args),
        Some(Command::Status(args)) => status::main(args),
        Some(Command::Load(args)) => sailkit_load::main(*args),
        Some(Command::Proxy(settings)) => proxy::main(*settings),
        Some(Command::Apply(args)) => apply::main(args),
        Some(Command::Delete(args)) => delete::main(args),
        Some(Command::Control(settings)) => control::main(*settings),
        Some(Command::ProxyStatus(args)) => proxy_status::main(args),
        Some(Command::ProxyConfig(args)) => proxy_config::main(args),
        Some(Command::Analyze(args)) => analyze::main(args),
        Some(Command::Lint(args)) => lint::main(args),
        Some(Command::Dashboard(args)) => sailkit_dashboard::main(args),
    }
}
