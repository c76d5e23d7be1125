//! Steps 1 and 2 of `sailkit apply`: the new files checked *together with* what of the applied
//! ones will stay, with no change to the config folder. An applied file that defines a
//! resource the new files redefine loses that document (see `documents.rs`), or goes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mesh_config::{Kind, Loaded, Resource};

use super::documents::documents;
use super::files::{config_files, file_name};

/// A resource's identity: kind, namespace, name.
type Key = (Kind, String, String);

fn key(resource: &Resource) -> Key {
    (
        resource.kind(),
        resource.namespace().to_string(),
        resource.metadata.name.clone(),
    )
}

/// The outcome of step 1 and 2: the set checked, and what the new files replace.
#[derive(Debug)]
pub struct Checked {
    /// Everything the sidecars would load after the apply, with its diagnostics.
    pub loaded: Loaded,
    /// Applied files with nothing left once the new ones are in.
    pub replaced: Vec<PathBuf>,
    /// Applied files that keep some of their documents: rewritten with only those.
    pub trimmed: Vec<Trimmed>,
}

/// An applied file that loses some of its resources to the new files.
#[derive(Debug)]
pub struct Trimmed {
    pub path: PathBuf,
    /// The documents that stay, `---` separated.
    pub text: String,
    /// "VirtualService reviews", for each resource taken out.
    pub taken_out: Vec<String>,
}

/// Steps 1 and 2, with no change to `dir` (but creating it): the set that would be in force.
/// With `services` (the registry's), routes to hosts none of them has are warned about.
pub fn check(
    dir: &Path,
    files: &[PathBuf],
    services: Option<&BTreeSet<String>>,
) -> Result<Checked, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names = BTreeSet::new();
    for file in files {
        let name = file_name(file)?;
        if !names.insert(name.clone()) {
            return Err(format!(
                "two files named {} in one apply",
                name.to_string_lossy()
            ));
        }
    }

    // 1. What the new files define, and what of the applied files they replace.
    let incoming = mesh_config::load_files(files);
    let new_keys: BTreeSet<Key> = incoming.resources.iter().map(key).collect();
    let mut replaced = Vec::new();
    let mut trimmed = Vec::new();
    // What stays of the applied files, each loaded under its own name.
    let mut staying = Loaded::default();
    for old in config_files(dir)? {
        if old.file_name().is_some_and(|n| names.contains(n)) {
            replaced.push(old);
            continue;
        }
        let name = old.display().to_string();
        let text = std::fs::read_to_string(&old).map_err(|e| format!("{name}: {e}"))?;
        let whole = mesh_config::load_str(&name, &text);
        if !whole.resources.iter().any(|r| new_keys.contains(&key(r))) {
            staying.resources.extend(whole.resources);
            staying.diagnostics.extend(whole.diagnostics);
            continue;
        }
        let mut kept_documents = Vec::new();
        let mut taken_out = Vec::new();
        for document in documents(&text) {
            let loaded = mesh_config::load_str(&name, document);
            let (out, stay): (Vec<&Resource>, Vec<&Resource>) = loaded
                .resources
                .iter()
                .partition(|r| new_keys.contains(&key(r)));
            taken_out.extend(
                out.iter()
                    .map(|r| format!("{} {}", r.kind().as_str(), r.metadata.name)),
            );
            if !stay.is_empty() {
                kept_documents.push(document.trim_end_matches('\n'));
            }
        }
        if kept_documents.is_empty() {
            replaced.push(old);
            continue;
        }
        let text = format!("{}\n", kept_documents.join("\n---\n"));
        let kept = mesh_config::load_str(&name, &text);
        staying.resources.extend(kept.resources);
        staying.diagnostics.extend(kept.diagnostics);
        trimmed.push(Trimmed {
            path: old,
            text,
            taken_out,
        });
    }

    // 2. The whole set the sidecars would load, checked as they would check it: each file's
    //    own diagnostics, then the checks across files.
    let mut loaded = staying;
    for file in files {
        let one = mesh_config::load_file(file);
        loaded.resources.extend(one.resources);
        loaded.diagnostics.extend(one.diagnostics);
    }
    loaded
        .diagnostics
        .extend(mesh_config::validate::check_set(&loaded.resources));
    if let Some(services) = services {
        loaded
            .diagnostics
            .extend(mesh_config::validate::check_hosts(
                &loaded.resources,
                services,
            ));
    }
    Ok(Checked {
        loaded,
        replaced,
        trimmed,
    })
}
