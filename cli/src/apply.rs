//! `sailkit apply FILE...` and `sailkit delete`: put Istio YAML in force in the mesh of a
//! running stack, or take it out, the local `kubectl apply` and `kubectl delete`.
//!
//! A change goes to the mesh's control plane, over its Config API (gRPC, `mesh.proto`): the
//! running stack's (its address is in `<data-dir>/run/stack.json`), or the one `--control-plane
//! URL` names (a stack elsewhere, such as docker compose, where no folder is shared). The
//! control plane does what the command did on the folder before, with the same code
//! (`mesh_control::config_source::store`):
//! 1. **check** the new files *together with* what stays in force, with the loader the proxies
//!    use, and answer every diagnostic (`file:line:col: severity: path: message`). Checking the
//!    whole set finds a route to a subset no DestinationRule defines, or to a host no service
//!    of the mesh has: warnings, as `istioctl analyze` gives them (Istio accepts such files);
//! 2. on any error, change **nothing**: the routing in force stays as it was;
//! 3. otherwise **write** its config folder (each file under a temporary name, then renamed)
//!    and put it in force at once, answering the new config version.
//!
//! The command prints the answer, then **waits** until every proxy has ACKed a snapshot of that
//! version (the Admin API's `ProxyStatus`, `acks.rs`), and says how long that took, or which
//! proxies had not by the deadline.
//!
//! A stack started with `--no-control-plane`, or no running stack, has no Config API: the
//! command then makes the same change on `<data-dir>/mesh/config/` itself (`folder.rs`), checks
//! hosts against the workload registry the launcher wrote, and waits until every sidecar
//! polling the folder reports the new version on its admin port (`rollout.rs`).
//!
//! Replacing follows Kubernetes: a resource is known by its kind, namespace and name, so a new
//! VirtualService `reviews` replaces the one in force, and only that one. A file in force that
//! defines it among others keeps the others. `apply --list` shows what is in force.
//!
//! One file a job:
//! - `target.rs`: where a change goes (a control plane, or the folder);
//! - `remote.rs`: the Config API calls; `acks.rs`: the wait for the proxies' ACKs;
//! - `folder.rs`: the change on the folder itself; `rollout.rs`: the wait for its sidecars;
//!   `registry.rs`: the hosts a route may name, from the launcher's workload registry;
//! - `report.rs`: what a change did, printed; `wait.rs`: what the proxies did, printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mesh_api::v1::{ConfigFile, DeleteRequest, ResourceRef};
use mesh_control::config_source::store::Key;

mod acks;
mod args;
pub mod folder;
mod registry;
mod remote;
pub mod report;
pub mod rollout;
pub mod target;
mod wait;

pub use args::{APPLY_AFTER_HELP, ApplyArgs};
pub use registry::known_services;
pub use report::Verb;
pub use target::{Target, target};
pub use wait::wait_for_proxies;

/// `sailkit apply`, from the command line to the exit code.
pub fn main(args: ApplyArgs) -> ExitCode {
    let target = target(&args.data_dir.data_dir, args.control_plane.as_deref());
    let result = if args.list {
        list(&target)
    } else {
        read_files(&args.files).and_then(|files| change(&target, Verb::Apply, &[], files))
    };
    exit_code(result)
}

/// Success, or the error printed after `error: `.
pub fn exit_code(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Each file's text, named as the user named it.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<ConfigFile>, String> {
    paths
        .iter()
        .map(|path| {
            let yaml = std::fs::read_to_string(path)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            Ok(ConfigFile {
                name: path.display().to_string(),
                yaml,
            })
        })
        .collect()
}

/// Applies `files`, or deletes `keys` and the resources of `files`, at `target`; prints what
/// was done and waits for the proxies.
pub fn change(
    target: &Target,
    verb: Verb,
    keys: &[Key],
    files: Vec<ConfigFile>,
) -> Result<(), String> {
    let (url, folder) = match target {
        Target::Folder { data_dir, .. } => return folder::change(data_dir, verb, keys, &files),
        Target::ControlPlane { url, folder } => (url, folder),
    };
    let remote = remote::Remote::connect(url)?;
    let response = match verb {
        Verb::Apply => remote.apply(files)?,
        Verb::Delete => remote.delete(DeleteRequest {
            resources: keys.iter().map(reference).collect(),
            files,
        })?,
    };
    if verb == Verb::Apply && !response.hosts_checked {
        println!("hosts not checked: no workload has registered with the control plane yet");
    }
    report::print_change(
        &response,
        verb,
        &shown_folder(folder.as_deref(), &response.store),
    )?;
    remote.wait_for_acks(&response.config_version, Instant::now())
}

/// `apply --list`: what is in force, resource by resource, with its file.
fn list(target: &Target) -> Result<(), String> {
    match target {
        Target::Folder { dir, .. } => folder::list(dir),
        Target::ControlPlane { url, folder } => {
            let listed = remote::Remote::connect(url)?.list()?;
            report::print_list(
                &listed.resources,
                &shown_folder(folder.as_deref(), &listed.store),
            );
            Ok(())
        }
    }
}

/// The config folder as this machine names it, or as the control plane does.
fn shown_folder(local: Option<&Path>, store: &str) -> PathBuf {
    local.map_or_else(|| PathBuf::from(store), Path::to_path_buf)
}

fn reference((kind, namespace, name): &Key) -> ResourceRef {
    ResourceRef {
        kind: kind.as_str().to_owned(),
        namespace: namespace.clone(),
        name: name.clone(),
    }
}
