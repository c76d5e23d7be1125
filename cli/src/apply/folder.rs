//! A change made on the config folder itself, for a stack without a control plane
//! (`--no-control-plane`) or when no stack runs: the same store the control plane uses
//! (`mesh_control::config_source::store`), then a wait for the sidecars that poll the folder.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use mesh_api::v1::ConfigFile;
use mesh_control::config_source::store::{self, Key, Store};

use super::report::{self, Verb};
use super::{registry, wait};
use crate::up::mesh;

/// Checks `files` with what stays in `dir` (and, given `services`, their hosts), then copies
/// them in. Prints what it did, and returns when the files were written.
pub fn apply(
    dir: &Path,
    files: &[ConfigFile],
    services: Option<&BTreeSet<String>>,
) -> Result<Instant, String> {
    let response = Store::new(dir)
        .apply(files, services)
        .map_err(|e| e.to_string())?;
    report::print_change(&response, Verb::Apply, dir)?;
    Ok(Instant::now())
}

/// `apply` or `delete` on the folder of `data_dir`, then the wait for its sidecars.
pub fn change(
    data_dir: &Path,
    verb: Verb,
    keys: &[Key],
    files: &[ConfigFile],
) -> Result<(), String> {
    let dir = mesh::config_dir(data_dir);
    let services = registry::known_services(&mesh::registry_path(data_dir));
    let written = match verb {
        Verb::Apply => apply(&dir, files, services.as_ref())?,
        Verb::Delete => {
            let response = Store::new(&dir)
                .delete(keys, files, services.as_ref())
                .map_err(|e| e.to_string())?;
            report::print_change(&response, verb, &dir)?;
            Instant::now()
        }
    };
    wait::wait_for_proxies(data_dir, &version(&dir)?, written)
}

/// The config version of the folder as it is now: what its sidecars will report.
pub fn version(dir: &Path) -> Result<String, String> {
    let files = Store::new(dir).read_all().map_err(|e| e.to_string())?;
    Ok(store::config_version(&files))
}

/// `apply --list` on the folder.
pub fn list(dir: &Path) -> Result<(), String> {
    let files = Store::new(dir).read_all().map_err(|e| e.to_string())?;
    report::print_list(&store::list(&files), dir);
    Ok(())
}
