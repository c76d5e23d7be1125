//! Admission: which config texts are accepted, which are refused, and what stays in force.
//!
//! A text is a named piece of Istio YAML: a file of the folder ([`Loader::load`] reads them), or
//! a Kubernetes object rendered as one (`crate::kubernetes` names it `VirtualService
//! default/reviews`). Both go through [`Loader::admit`], which applies the rules in this order:
//! 1. every text is loaded alone with [`mesh_config::load_str`]; a text with an error is
//!    refused, and the content it had when last accepted (if any) stays in force;
//! 2. the texts in force are checked together ([`mesh_config::validate::check_set`]: the same
//!    resource defined in two files, ...); if that finds an error, the whole previous set stays
//!    in force, and the texts named in the errors are refused;
//! 3. a text that is gone (a file deleted, an object removed) leaves the config (unless step 2
//!    refuses the new set).
//!
//! A text that did not change since it was accepted is not parsed again.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mesh_api::v1::ConfigFile;
use mesh_config::{Diagnostic, Resource, Severity};

use super::{ConfigState, Refused};

/// The largest file read, as `mesh_config` allows (8 MiB): a larger one is refused unread.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// A file in force: its text, and the resources it gave (for the checks across files).
#[derive(Debug)]
struct Accepted {
    text: String,
    resources: Vec<Resource>,
}

/// One text offered for admission: its name (a file's, or an object's) and its content, or why
/// it could not be read (the text is then refused with that reason at line 1).
#[derive(Debug, Clone)]
pub struct NamedText {
    pub name: String,
    pub text: Result<String, String>,
}

/// Reads the folder (or takes texts from another source) and remembers what is in force
/// between reads.
#[derive(Debug)]
pub struct Loader {
    dir: Option<PathBuf>,
    /// The files in force, by name.
    accepted: BTreeMap<String, Arc<Accepted>>,
}

impl Loader {
    /// A loader for `dir`; with none, [`load`](Self::load) always gives an empty config (the
    /// texts then come through [`admit`](Self::admit)).
    pub fn new(dir: Option<PathBuf>) -> Loader {
        Loader {
            dir,
            accepted: BTreeMap::new(),
        }
    }

    /// Reads the folder and returns what is in force now, logging every refusal.
    pub fn load(&mut self) -> ConfigState {
        let Some(dir) = self.dir.clone() else {
            return ConfigState::new(Vec::new(), Vec::new());
        };
        match config_files(&dir) {
            Ok(files) => self.admit(
                files
                    .into_iter()
                    .map(|(name, path)| NamedText {
                        text: read_text(&path),
                        name,
                    })
                    .collect(),
            ),
            // The folder may be gone for a moment (being replaced): keep everything in force.
            Err(error) => self.finish(vec![Refused {
                file: dir.display().to_string(),
                diagnostics: vec![format!("cannot list the config directory: {error}")],
            }]),
        }
    }

    /// Admits `texts`, the whole config of a source (a text absent from it leaves), and returns
    /// what is in force now, logging every refusal.
    pub fn admit(&mut self, texts: Vec<NamedText>) -> ConfigState {
        let mut refused = Vec::new();
        let candidate = self.admit_each(texts, &mut refused);
        self.admit_set(candidate, &mut refused);
        self.finish(refused)
    }

    /// The state in force, with `refused` sorted and logged.
    fn finish(&self, mut refused: Vec<Refused>) -> ConfigState {
        refused.sort_by(|a, b| a.file.cmp(&b.file));
        for refusal in &refused {
            tracing::warn!(
                "file {} refused: {}",
                refusal.file,
                refusal.diagnostics.join("; ")
            );
        }
        ConfigState::new(self.in_force(), refused)
    }

    /// Step 1: each text alone. Returns the candidate set: the texts accepted now, plus the
    /// last good content of the texts refused now.
    fn admit_each(
        &self,
        texts: Vec<NamedText>,
        refused: &mut Vec<Refused>,
    ) -> BTreeMap<String, Arc<Accepted>> {
        let mut candidate = BTreeMap::new();
        for NamedText { name, text } in texts {
            let name = &name;
            let previous = self.accepted.get(name);
            let text = match text {
                Ok(text) => text,
                Err(message) => {
                    refused.push(Refused {
                        file: name.clone(),
                        diagnostics: vec![format!("{name}:1:1: error: {message}")],
                    });
                    if let Some(previous) = previous {
                        candidate.insert(name.clone(), Arc::clone(previous));
                    }
                    continue;
                }
            };
            if let Some(previous) = previous.filter(|p| p.text == text) {
                candidate.insert(name.clone(), Arc::clone(previous));
                continue;
            }
            let loaded = mesh_config::load_str(name, &text);
            log_warnings(&loaded.diagnostics);
            if loaded.has_errors() {
                refused.push(Refused {
                    file: name.clone(),
                    diagnostics: loaded.errors().map(Diagnostic::to_string).collect(),
                });
                if let Some(previous) = previous {
                    candidate.insert(name.clone(), Arc::clone(previous));
                }
            } else {
                let accepted = Accepted {
                    text,
                    resources: loaded.resources,
                };
                candidate.insert(name.clone(), Arc::new(accepted));
            }
        }
        candidate
    }

    /// Step 2: the candidate set as a whole. It replaces the set in force unless the checks
    /// across files find an error.
    fn admit_set(
        &mut self,
        candidate: BTreeMap<String, Arc<Accepted>>,
        refused: &mut Vec<Refused>,
    ) {
        let resources: Vec<Resource> = candidate
            .values()
            .flat_map(|file| file.resources.iter().cloned())
            .collect();
        let diagnostics = mesh_config::validate::check_set(&resources);
        log_warnings(&diagnostics);
        let mut errors_by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for error in diagnostics.iter().filter(|d| d.is_error()) {
            errors_by_file
                .entry(error.file.clone())
                .or_default()
                .push(error.to_string());
        }
        if errors_by_file.is_empty() {
            self.accepted = candidate;
            return;
        }
        for (file, diagnostics) in errors_by_file {
            match refused.iter_mut().find(|r| r.file == file) {
                Some(refusal) => refusal.diagnostics.extend(diagnostics),
                None => refused.push(Refused { file, diagnostics }),
            }
        }
    }

    /// The files in force, sorted by name.
    fn in_force(&self) -> Vec<ConfigFile> {
        self.accepted
            .iter()
            .map(|(name, file)| ConfigFile {
                name: name.clone(),
                yaml: file.text.clone(),
            })
            .collect()
    }
}

/// The YAML files of `dir` as (name, path), sorted by name.
pub fn config_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        if !is_yaml || !path.is_file() {
            continue;
        }
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            files.push((name.to_owned(), path.clone()));
        }
    }
    files.sort();
    Ok(files)
}

/// The file's text, or why it cannot be read. At most one byte past the limit is read.
fn read_text(path: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|error| format!("cannot read the file: {error}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the file is larger than {} MiB",
            MAX_FILE_BYTES / 1024 / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|error| format!("the file is not UTF-8 text ({error})"))
}

/// Warnings are accepted (Istio accepts them too) but said, once per read of the file.
fn log_warnings(diagnostics: &[Diagnostic]) {
    for warning in diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
    {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n        host: reviews\n";
    const BAD: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: broken\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n        host: reviews\n      weight: 500\n";

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write");
    }

    #[test]
    fn a_bad_edit_keeps_the_last_good_content_of_that_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "reviews.yaml", GOOD);
        let mut loader = Loader::new(Some(dir.path().to_path_buf()));
        let first = loader.load();
        assert_eq!(first.files.len(), 1);
        assert!(first.refused.is_empty());

        write(dir.path(), "reviews.yaml", BAD);
        let second = loader.load();
        assert_eq!(second.files[0].yaml, GOOD);
        assert_eq!(second.config_version, first.config_version);
        assert_eq!(second.refused[0].file, "reviews.yaml");
        assert!(
            second.refused[0].diagnostics[0].starts_with("reviews.yaml:11:"),
            "{:?}",
            second.refused
        );
    }

    #[test]
    fn a_duplicate_across_files_keeps_the_previous_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.yaml", GOOD);
        let mut loader = Loader::new(Some(dir.path().to_path_buf()));
        let first = loader.load();
        write(dir.path(), "b.yaml", GOOD);
        let second = loader.load();
        assert_eq!(second.config_version, first.config_version);
        assert_eq!(second.files.len(), 1);
        assert!(!second.refused.is_empty());
    }

    #[test]
    fn a_deleted_file_leaves_the_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.yaml", GOOD);
        write(dir.path(), "notes.txt", "not config");
        let mut loader = Loader::new(Some(dir.path().to_path_buf()));
        assert_eq!(loader.load().files.len(), 1);
        std::fs::remove_file(dir.path().join("a.yaml")).expect("remove");
        let after = loader.load();
        assert!(after.files.is_empty());
        assert_eq!(after.config_version, mesh_config::config_version([]));
    }
}
