//! The config folder as a store: the one implementation of `sailkit apply` and `sailkit
//! delete`, used by the control plane's Config API (`config_api`) and by the `sailkit` command
//! on a stack without a control plane, which changes the folder itself.
//!
//! A change is planned first, with no write (`plan.rs`): the files that stay, the ones the
//! change writes, trims or removes, and the whole resulting set checked as the proxies would
//! check it. On any error nothing is written. Otherwise [`Store`] commits the plan: every file
//! is written under a temporary name and renamed (`write_atomically`), so a reader polling the
//! folder never sees half a file. The answer is the protocol's own [`ChangeResponse`], so both
//! callers print it the same way.
//!
//! A resource is known by its kind, namespace and name, as in Kubernetes: a new VirtualService
//! `reviews` replaces the one in force, and only that one. A stored file that defines it among
//! others keeps the others (it is rewritten without that `---` document, see `documents.rs`),
//! and is removed once nothing is left in it.

mod documents;
mod plan;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mesh_api::v1::file_change::Action;
use mesh_api::v1::{ChangeResponse, ConfigFile, FileChange, ListedResource};
use mesh_config::{Kind, Resource};

pub use plan::Plan;

/// A resource's identity: kind, namespace, name.
pub type Key = (Kind, String, String);

/// The identity of `resource`.
pub fn key(resource: &Resource) -> Key {
    (
        resource.kind(),
        resource.namespace().to_string(),
        resource.metadata.name.clone(),
    )
}

/// `VirtualService reviews`, as the answers name a resource.
pub fn describe(resource: &Resource) -> String {
    format!("{} {}", resource.kind().as_str(), resource.metadata.name)
}

/// Why a change could not even be planned. A change the checks refuse is not an error: it is a
/// [`ChangeResponse`] with `applied: false`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The request itself is wrong (a file name that cannot be stored, two files of one name).
    #[error("{0}")]
    Invalid(String),
    /// A delete names a resource that is not in force.
    #[error("{0}")]
    NotFound(String),
    /// The folder cannot be read or written.
    #[error("{0}")]
    Io(String),
}

/// A folder of Istio YAML files.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Puts `files` in force, checked with what stays (and, given `services`, their hosts).
    pub fn apply(
        &self,
        files: &[ConfigFile],
        services: Option<&BTreeSet<String>>,
    ) -> Result<ChangeResponse, StoreError> {
        let plan = Plan::apply(self, files, services)?;
        self.commit(plan, services.is_some())
    }

    /// Takes `keys` and the resources `files` define out of force; every one must be in force.
    pub fn delete(
        &self,
        keys: &[Key],
        files: &[ConfigFile],
        services: Option<&BTreeSet<String>>,
    ) -> Result<ChangeResponse, StoreError> {
        let plan = Plan::delete(self, keys, files, services)?;
        self.commit(plan, services.is_some())
    }

    /// The stored files, sorted by name (the order the proxies load them in).
    pub fn read_all(&self) -> Result<Vec<ConfigFile>, StoreError> {
        let mut files = Vec::new();
        for (name, path) in self.paths()? {
            let yaml = std::fs::read_to_string(&path).map_err(|e| self.io(&name, &e))?;
            files.push(ConfigFile { name, yaml });
        }
        Ok(files)
    }

    /// `(name, path)` of every YAML file, sorted; none when the folder does not exist yet.
    fn paths(&self) -> Result<Vec<(String, PathBuf)>, StoreError> {
        match super::load::config_files(&self.dir) {
            Ok(files) => Ok(files),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(StoreError::Io(format!("{}: {e}", self.dir.display()))),
        }
    }

    /// How diagnostics name a stored file: its path.
    fn label(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn io(&self, name: &str, error: &std::io::Error) -> StoreError {
        StoreError::Io(format!("{}: {error}", self.label(name)))
    }

    /// Writes the plan unless it holds an error, and says what was done.
    fn commit(&self, plan: Plan, hosts_checked: bool) -> Result<ChangeResponse, StoreError> {
        let mut response = ChangeResponse {
            applied: false,
            diagnostics: plan
                .loaded
                .diagnostics
                .iter()
                .map(|d| d.to_string())
                .collect(),
            changes: Vec::new(),
            config_version: String::new(),
            hosts_checked,
            store: self.dir.display().to_string(),
        };
        if !plan.loaded.has_errors() {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| StoreError::Io(format!("{}: {e}", self.dir.display())))?;
            for file in plan.written {
                write_atomically(&self.dir.join(&file.stored), file.yaml.as_bytes())
                    .map_err(|e| self.io(&file.stored, &e))?;
                response
                    .changes
                    .push(change(Action::Written, file.shown, file.resources));
            }
            for file in plan.removed {
                std::fs::remove_file(self.dir.join(&file.name))
                    .map_err(|e| self.io(&file.name, &e))?;
                response
                    .changes
                    .push(change(Action::Removed, file.name, file.taken_out));
            }
            for file in plan.trimmed {
                write_atomically(&self.dir.join(&file.name), file.yaml.as_bytes())
                    .map_err(|e| self.io(&file.name, &e))?;
                response
                    .changes
                    .push(change(Action::Trimmed, file.name, file.taken_out));
            }
            response.applied = true;
        }
        response.config_version = config_version(&self.read_all()?);
        Ok(response)
    }
}

fn change(action: Action, file: String, resources: Vec<String>) -> FileChange {
    FileChange {
        action: action.into(),
        file,
        resources,
    }
}

/// The config version of `files`, as a proxy reading them reports it.
pub fn config_version(files: &[ConfigFile]) -> String {
    mesh_config::config_version(files.iter().map(|f| (f.name.as_str(), f.yaml.as_bytes())))
}

/// Every resource `files` define, each with the file it comes from, the hosts it is about and
/// its own document (a file may define several).
pub fn list(files: &[ConfigFile]) -> Vec<ListedResource> {
    files
        .iter()
        .flat_map(|file| {
            documents::documents(&file.yaml)
                .into_iter()
                .flat_map(move |document| {
                    mesh_config::load_str(&file.name, document)
                        .resources
                        .into_iter()
                        .map(move |resource| ListedResource {
                            kind: resource.kind().as_str().to_owned(),
                            namespace: resource.namespace().to_owned(),
                            name: resource.metadata.name.clone(),
                            file: file.name.clone(),
                            hosts: resource.hosts(),
                            yaml: document.trim_matches('\n').to_owned(),
                        })
                })
        })
        .collect()
}

/// Writes under a name the readers ignore (not `.yaml`), then renames into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
