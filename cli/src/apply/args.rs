//! The command line of `sailkit apply`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::DataDirArg;

/// What `sailkit apply --help` prints after the options.
pub const APPLY_AFTER_HELP: &str = "\
The files go to the mesh's control plane (the running stack's, or --control-plane URL), which
checks them together with what stays in force (so a route to a subset that no DestinationRule
defines, or to a host no service of the mesh has, is warned about); every diagnostic is printed
as file:line:col, and on any error nothing changes. Otherwise the control plane stores them in
its config folder, <data-dir>/mesh/config/, and pushes them to every proxy; apply waits (up to
30 s) until every proxy has ACKed the new config version, and says how long that took. A resource
replaces the one in force of the same kind, namespace and name (the file that defined it keeps
its other resources), and a file the one of the same name. `sailkit delete` takes resources out.
A stack started with --no-control-plane (or no running stack) has its folder changed directly,
with the same checks, and apply waits until every sidecar has re-read it.";

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Istio YAML files to apply.
    #[arg(value_name = "FILE", required_unless_present = "list")]
    pub files: Vec<PathBuf>,

    /// Show the resources in force instead, with the file each comes from.
    #[arg(long, conflicts_with = "files")]
    pub list: bool,

    /// The control plane's gRPC URL, for a stack elsewhere (default: the running stack's, from
    /// its stack.json; without one, the config folder is changed directly).
    #[arg(long, value_name = "URL")]
    pub control_plane: Option<String>,

    #[command(flatten)]
    pub data_dir: DataDirArg,
}
