//! Planning a change of the store, with no write: what of the stored files stays, what the
//! change writes, trims and removes, and the whole resulting set checked as the proxies would
//! check it (each file's own diagnostics, then the checks across files).

use std::collections::BTreeSet;
use std::path::Path;

use mesh_api::v1::ConfigFile;
use mesh_config::Loaded;

use super::documents::documents;
use super::{Key, Store, StoreError, describe, key};

/// A change, checked and not yet written. `loaded` is the set that would be in force, with its
/// diagnostics: with any error, the change is refused whole.
#[derive(Debug, Default)]
pub struct Plan {
    pub(super) loaded: Loaded,
    pub(super) written: Vec<Written>,
    pub(super) removed: Vec<Removed>,
    pub(super) trimmed: Vec<Trimmed>,
}

/// A file of the request, to be stored.
#[derive(Debug)]
pub(super) struct Written {
    /// Its name in the folder: the last part of the name it came with.
    pub stored: String,
    /// The name it came with, as diagnostics and answers quote it.
    pub shown: String,
    pub yaml: String,
    /// "VirtualService reviews", for each resource it defines.
    pub resources: Vec<String>,
}

/// A stored file left with nothing in it.
#[derive(Debug)]
pub(super) struct Removed {
    pub name: String,
    pub taken_out: Vec<String>,
}

/// A stored file that keeps some of its documents.
#[derive(Debug)]
pub(super) struct Trimmed {
    pub name: String,
    /// The documents that stay, `---` separated.
    pub yaml: String,
    pub taken_out: Vec<String>,
}

impl Plan {
    /// `files` in force: each replaces the stored file of its name, and each of their resources
    /// the stored resource of the same kind, namespace and name.
    pub fn apply(
        store: &Store,
        files: &[ConfigFile],
        services: Option<&BTreeSet<String>>,
    ) -> Result<Plan, StoreError> {
        if files.is_empty() {
            return Err(StoreError::Invalid("no files to apply".to_owned()));
        }
        let stored = stored_names(files)?;
        let incoming: Vec<Loaded> = files
            .iter()
            .map(|f| mesh_config::load_str(&f.name, &f.yaml))
            .collect();
        let new_keys: BTreeSet<Key> = incoming
            .iter()
            .flat_map(|loaded| loaded.resources.iter().map(key))
            .collect();
        let overwritten: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
        let (mut plan, _) = Plan::take_out(store, &new_keys, &overwritten)?;
        for ((file, stored), loaded) in files.iter().zip(stored).zip(incoming) {
            plan.written.push(Written {
                stored,
                shown: file.name.clone(),
                yaml: file.yaml.clone(),
                resources: loaded.resources.iter().map(describe).collect(),
            });
            plan.loaded.resources.extend(loaded.resources);
            plan.loaded.diagnostics.extend(loaded.diagnostics);
        }
        plan.check(services);
        Ok(plan)
    }

    /// `keys`, and the resources `files` define, out of force. Every one must be in force.
    pub fn delete(
        store: &Store,
        keys: &[Key],
        files: &[ConfigFile],
        services: Option<&BTreeSet<String>>,
    ) -> Result<Plan, StoreError> {
        let mut wanted: BTreeSet<Key> = keys.iter().cloned().collect();
        let mut named = Loaded::default();
        for file in files {
            let loaded = mesh_config::load_str(&file.name, &file.yaml);
            wanted.extend(loaded.resources.iter().map(key));
            named.diagnostics.extend(loaded.diagnostics);
        }
        // A file with an error does not say for sure what it defines: refuse, change nothing.
        if named.has_errors() {
            return Ok(Plan {
                loaded: named,
                ..Plan::default()
            });
        }
        if wanted.is_empty() {
            return Err(StoreError::Invalid("nothing to delete".to_owned()));
        }
        let (mut plan, found) = Plan::take_out(store, &wanted, &BTreeSet::new())?;
        let missing: Vec<String> = wanted
            .difference(&found)
            .map(|(kind, namespace, name)| format!("{} {namespace}/{name}", kind.as_str()))
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::NotFound(format!(
                "not in force: {}",
                missing.join(", ")
            )));
        }
        plan.check(services);
        Ok(plan)
    }

    /// The stored files without the resources of `keys` and without the files `overwritten`:
    /// what stays goes into the plan's `loaded`, each file under its path. Also returns the keys
    /// found.
    fn take_out(
        store: &Store,
        keys: &BTreeSet<Key>,
        overwritten: &BTreeSet<&str>,
    ) -> Result<(Plan, BTreeSet<Key>), StoreError> {
        let mut plan = Plan::default();
        let mut found = BTreeSet::new();
        for file in store.read_all()? {
            if overwritten.contains(file.name.as_str()) {
                continue;
            }
            let label = store.label(&file.name);
            let whole = mesh_config::load_str(&label, &file.yaml);
            if !whole.resources.iter().any(|r| keys.contains(&key(r))) {
                plan.loaded.resources.extend(whole.resources);
                plan.loaded.diagnostics.extend(whole.diagnostics);
                continue;
            }
            let mut kept_documents = Vec::new();
            let mut taken_out = Vec::new();
            for document in documents(&file.yaml) {
                let loaded = mesh_config::load_str(&label, document);
                let mut keeps = false;
                for resource in &loaded.resources {
                    if keys.contains(&key(resource)) {
                        found.insert(key(resource));
                        taken_out.push(describe(resource));
                    } else {
                        keeps = true;
                    }
                }
                if keeps {
                    kept_documents.push(document.trim_end_matches('\n'));
                }
            }
            if kept_documents.is_empty() {
                plan.removed.push(Removed {
                    name: file.name,
                    taken_out,
                });
                continue;
            }
            let yaml = format!("{}\n", kept_documents.join("\n---\n"));
            let kept = mesh_config::load_str(&label, &yaml);
            plan.loaded.resources.extend(kept.resources);
            plan.loaded.diagnostics.extend(kept.diagnostics);
            plan.trimmed.push(Trimmed {
                name: file.name,
                yaml,
                taken_out,
            });
        }
        Ok((plan, found))
    }

    /// The checks across the whole set, and its hosts against `services` when given.
    fn check(&mut self, services: Option<&BTreeSet<String>>) {
        let resources = &self.loaded.resources;
        let mut found = mesh_config::validate::check_set(resources);
        if let Some(services) = services {
            found.extend(mesh_config::validate::check_hosts(resources, services));
        }
        self.loaded.diagnostics.extend(found);
    }
}

/// The name each file is stored under: the last part of its name, a `.yaml` or `.yml` file with
/// no control character (a NUL would fail the write, a newline would garble every message), no
/// two the same.
fn stored_names(files: &[ConfigFile]) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::with_capacity(files.len());
    for file in files {
        let name = Path::new(&file.name)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .filter(|n| !n.chars().any(char::is_control))
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "{:?}: not a file name ending in .yaml or .yml",
                    file.name
                ))
            })?;
        if names.iter().any(|n| n == name) {
            return Err(StoreError::Invalid(format!(
                "two files named {name} in one change"
            )));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}
