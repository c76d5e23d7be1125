//! `sailkit apply FILE...`: put Istio YAML in force in the mesh of a running stack, the local
//! `kubectl apply`.
//!
//! The mesh's config is a folder, `<data-dir>/mesh/config/`, that every sidecar polls (about
//! twice a second) and re-reads when it changes. `apply` is the careful way to change it:
//! 1. **check** the new files *together with* the ones that will stay, with the same loader the
//!    sidecars use (`mesh_config::load_files`), and print every diagnostic (`file:line:col:
//!    severity: path: message`). Checking the whole set is what finds a route to a subset no
//!    DestinationRule defines: a warning, as `istioctl analyze` gives it (Istio accepts it and
//!    answers 503 at run time, and so do our sidecars);
//! 2. on any error, change **nothing**: the routing in force stays as it was;
//! 3. otherwise **copy** the files in (each written to a temporary name and renamed, so a
//!    sidecar never reads half a file), and take out what they replace;
//! 4. **wait** until every sidecar and the ingress gateway of the running stack report the new
//!    files in force, and say how long that took, or which proxies had not by the deadline
//!    (`rollout`).
//!
//! When a stack has run, step 1 also checks every route and mirror against the mesh's workload
//! registry (`<data-dir>/mesh/registry.json`): a host that no service has (nor a ServiceEntry)
//! is a warning, as for an undefined subset (`mesh_config::validate::check_hosts`).
//!
//! Replacing follows Istio's rule that a resource is known by its kind, namespace and name, as
//! `kubectl apply` does: a new VirtualService `reviews` replaces the one in force, and only that
//! one. An applied file that defines it among others keeps the others: it is rewritten without
//! that document (the `---` separated part that defined it), and removed once nothing is left.
//! A file applied again under the same name replaces its earlier copy. `apply --list` shows what
//! is in force, resource by resource, with its file.

//!
//! One file a job:
//! - `check.rs`: steps 1 and 2, the set that would be in force, with no change to the folder;
//! - `documents.rs`: a YAML stream cut at its `---` markers (to take one resource out of a file);
//! - `copy_in.rs`: step 3, copying the checked files in and taking out what they replace;
//! - `wait.rs`: step 4, waiting for the proxies and saying what they did ([`rollout`] polls);
//! - `registry.rs`: the services a route may name, from the mesh's workload registry;
//! - `files.rs`: the config folder's files, and writing one so no sidecar reads half of it;
//! - `list.rs`: `apply --list`, what is in force.

use std::process::ExitCode;

use crate::cli::ApplyArgs;
use crate::up::mesh;

mod check;
mod copy_in;
mod documents;
mod files;
mod list;
mod registry;
pub mod rollout;
mod wait;

#[cfg(test)]
mod tests;

pub use check::{Checked, Trimmed, check};
pub use copy_in::apply;
pub use list::list;
pub use registry::known_services;
pub use wait::wait_for_proxies;

/// `sailkit apply`, from the command line to the exit code.
pub fn main(args: ApplyArgs) -> ExitCode {
    let data_dir = &args.data_dir.data_dir;
    let dir = mesh::config_dir(data_dir);
    let result = if args.list {
        list(&dir)
    } else {
        let services = known_services(data_dir, &mesh::registry_path(data_dir));
        apply(&dir, &args.files, services.as_ref())
            .and_then(|written| wait_for_proxies(data_dir, &dir, written))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
