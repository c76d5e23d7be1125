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

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mesh_config::{Kind, Loaded, Resource};

use crate::cli::ApplyArgs;
use crate::up::mesh;

pub mod rollout;

use rollout::Rollout;

/// A resource's identity: kind, namespace, name.
type Key = (Kind, String, String);

fn key(resource: &Resource) -> Key {
    (
        resource.kind(),
        resource.namespace().to_string(),
        resource.metadata.name.clone(),
    )
}

/// `sailkit apply`, from the command line to the exit code.
pub fn main(args: ApplyArgs) -> ExitCode {
    let data_dir = &args.data_dir.data_dir;
    let dir = mesh::config_dir(data_dir);
    let result = if args.list {
        list(&dir)
    } else {
        let services = known_services(&mesh::registry_path(data_dir));
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

/// The services of the mesh's workload registry, qualified as the sidecars qualify them; `None`
/// (and hosts left unchecked, which is said) when no stack has written one.
pub fn known_services(registry: &Path) -> Option<BTreeSet<String>> {
    if !registry.exists() {
        println!(
            "hosts not checked: no workload registry at {} (`sailkit up` writes it)",
            registry.display()
        );
        return None;
    }
    match mesh_proxy::registry::Registry::load(registry, mesh_config::model::DEFAULT_NAMESPACE) {
        Ok(loaded) => Some(
            loaded
                .services
                .iter()
                .map(|s| s.qualified.clone())
                .collect(),
        ),
        Err(message) => {
            println!("hosts not checked: {message}");
            None
        }
    }
}

/// Checks `files` with what stays in `dir` (and, given `services`, their hosts), then copies
/// them in. Prints what it did, and returns when the files were written.
pub fn apply(
    dir: &Path,
    files: &[PathBuf],
    services: Option<&BTreeSet<String>>,
) -> Result<Instant, String> {
    let Checked {
        loaded,
        replaced,
        trimmed,
    } = check(dir, files, services)?;
    for diagnostic in &loaded.diagnostics {
        println!("{diagnostic}");
    }
    if loaded.has_errors() {
        return Err(format!(
            "nothing applied: the configuration in force in {} is unchanged",
            dir.display()
        ));
    }

    // 3. Copy in, then remove what was replaced (a file of the same name was overwritten).
    let mut names = BTreeSet::new();
    for file in files {
        let name = file_name(file)?;
        let text = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        write_atomically(&dir.join(&name), &text)
            .map_err(|e| format!("{}: {e}", dir.join(&name).display()))?;
        println!("applied {} ({})", file.display(), describe(&loaded, file));
        names.insert(name);
    }
    for old in replaced {
        if old.file_name().is_some_and(|n| names.contains(n)) {
            continue;
        }
        std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
        println!("removed {} (replaced)", old.display());
    }
    for old in trimmed {
        write_atomically(&old.path, old.text.as_bytes())
            .map_err(|e| format!("{}: {e}", old.path.display()))?;
        println!(
            "updated {} (replaced: {}; the rest stays)",
            old.path.display(),
            old.taken_out.join(", ")
        );
    }
    Ok(Instant::now())
}

/// Step 4: wait for the proxies of the stack running on `data_dir`, and print what they did.
/// An error when a proxy refused the files or some had not loaded them by the deadline.
pub fn wait_for_proxies(data_dir: &Path, dir: &Path, written: Instant) -> Result<(), String> {
    let Some(proxies) = rollout::proxies(data_dir) else {
        println!("no stack is running: the sidecars load it when they start");
        return Ok(());
    };
    if proxies.is_empty() {
        println!("the running stack has no sidecars (--no-mesh): nothing loads it");
        return Ok(());
    }
    let version = rollout::expected_version(&config_files(dir)?)?;
    match rollout::wait(&proxies, &version, written, rollout::DEADLINE) {
        Rollout::InForce { proxies, took } => {
            println!(
                "in force in all {proxies} proxies {:.1} s after it was written (config version {version})",
                took.as_secs_f64()
            );
            Ok(())
        }
        Rollout::Incomplete { in_force, missing } => {
            println!(
                "after {} s, {in_force} of {} proxies have it in force (config version {version}); not yet:",
                rollout::DEADLINE.as_secs(),
                in_force + missing.len()
            );
            for (name, why) in &missing {
                println!("  {name}: {why}");
            }
            Err("not in force in every proxy yet: see above".to_owned())
        }
        Rollout::Rejected { name, diagnostics } => Err(format!(
            "{name} refused the files (they changed after they were checked):\n{diagnostics}"
        )),
    }
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

/// The documents of a YAML stream: the text between lines that start with `---` (a document
/// marker must start its line; inside a block scalar the text is indented).
fn documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let is_marker = line.starts_with("---")
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '#');
        if is_marker {
            out.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    out.push(&text[start..]);
    out
}

/// Prints the resources in force in `dir`, one a line, with their file.
pub fn list(dir: &Path) -> Result<(), String> {
    let files = config_files(dir)?;
    if files.is_empty() {
        println!(
            "no mesh config in {}: default routing (round robin over every instance)",
            dir.display()
        );
        return Ok(());
    }
    let loaded = mesh_config::load_files(&files);
    for diagnostic in &loaded.diagnostics {
        println!("{diagnostic}");
    }
    for resource in &loaded.resources {
        println!(
            "{:<16} {:<24} {}",
            resource.kind().as_str(),
            format!("{}/{}", resource.namespace(), resource.metadata.name),
            resource.source.file
        );
    }
    Ok(())
}

/// "VirtualService reviews, DestinationRule ratings": what a file defines.
fn describe(loaded: &Loaded, file: &Path) -> String {
    let file = file.to_string_lossy();
    let kinds: Vec<String> = loaded
        .resources
        .iter()
        .filter(|r| *r.source.file == *file)
        .map(|r| format!("{} {}", r.kind().as_str(), r.metadata.name))
        .collect();
    if kinds.is_empty() {
        "no resources".to_string()
    } else {
        kinds.join(", ")
    }
}

/// The YAML files of `dir`, sorted (the order the sidecars load them in); none if it is missing.
pub(crate) fn config_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

fn file_name(file: &Path) -> Result<OsString, String> {
    file.file_name()
        .map(OsString::from)
        .ok_or_else(|| format!("{}: not a file name", file.display()))
}

/// Writes under a name the sidecars ignore (not `.yaml`), then renames into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBSETS: &str = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n  subsets:\n    - name: v1\n      labels:\n        version: v1\n";
    const TO_V1: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n    - reviews\n  http:\n    - route:\n        - destination:\n            host: reviews\n            subset: v1\n";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn names(dir: &Path) -> Vec<String> {
        config_files(dir)
            .expect("list")
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    }

    #[test]
    fn files_are_checked_with_what_is_in_force() {
        let src = tempfile::tempdir().expect("tempdir");
        let config = tempfile::tempdir().expect("tempdir");
        let vs = write(src.path(), "vs.yaml", TO_V1);
        let alone = check(config.path(), std::slice::from_ref(&vs), None).expect("checked");
        assert!(
            alone.loaded.diagnostics.iter().any(|d| !d.is_error()
                && d.to_string().starts_with(&format!("{}:", vs.display()))
                && d.to_string().contains("v1")),
            "a warning for the undefined subset: {:?}",
            alone.loaded.diagnostics
        );

        let dr = write(src.path(), "dr.yaml", SUBSETS);
        apply(config.path(), std::slice::from_ref(&dr), None).expect("valid");
        let together = check(config.path(), std::slice::from_ref(&vs), None).expect("checked");
        assert!(
            together.loaded.diagnostics.is_empty(),
            "{:?}",
            together.loaded.diagnostics
        );
    }

    #[test]
    fn an_error_changes_nothing() {
        let src = tempfile::tempdir().expect("tempdir");
        let config = tempfile::tempdir().expect("tempdir");
        let dr = write(src.path(), "dr.yaml", SUBSETS);
        apply(config.path(), &[dr], None).expect("valid");
        let typo = write(
            src.path(),
            "typo.yaml",
            &SUBSETS.replace("labels:", "lables:"),
        );
        assert!(apply(config.path(), &[typo], None).is_err());
        assert_eq!(names(config.path()), ["dr.yaml"]);
    }

    #[test]
    fn a_resource_of_the_same_kind_and_name_replaces_its_file() {
        let src = tempfile::tempdir().expect("tempdir");
        let config = tempfile::tempdir().expect("tempdir");
        let dr = write(src.path(), "dr.yaml", SUBSETS);
        let first = write(src.path(), "first.yaml", TO_V1);
        apply(config.path(), &[dr, first], None).expect("valid");
        let second = write(src.path(), "second.yaml", TO_V1);
        apply(config.path(), &[second], None).expect("valid");
        assert_eq!(names(config.path()), ["dr.yaml", "second.yaml"]);
    }

    #[test]
    fn a_file_keeps_the_resources_that_were_not_redefined() {
        let src = tempfile::tempdir().expect("tempdir");
        let config = tempfile::tempdir().expect("tempdir");
        let ratings = TO_V1.replace("reviews", "ratings");
        // Like virtual-service-all-v1.yaml: several VirtualServices in one file.
        let all = write(
            src.path(),
            "all.yaml",
            &format!("# every service on v1\n---\n{TO_V1}---\n{ratings}"),
        );
        let dr = write(
            src.path(),
            "dr.yaml",
            &format!("{SUBSETS}---\n{}", SUBSETS.replace("reviews", "ratings")),
        );
        apply(config.path(), &[dr, all], None).expect("valid");
        let reviews_again = write(src.path(), "reviews.yaml", TO_V1);
        let checked =
            check(config.path(), std::slice::from_ref(&reviews_again), None).expect("checked");
        assert!(checked.replaced.is_empty());
        assert_eq!(checked.trimmed.len(), 1);
        assert_eq!(checked.trimmed[0].taken_out, ["VirtualService reviews"]);
        apply(config.path(), &[reviews_again], None).expect("valid");
        assert_eq!(
            names(config.path()),
            ["all.yaml", "dr.yaml", "reviews.yaml"]
        );
        // all.yaml now holds only the ratings VirtualService, and loads cleanly with the rest.
        let left = mesh_config::load_file(config.path().join("all.yaml"));
        let kept: Vec<String> = left
            .resources
            .iter()
            .map(|r| r.metadata.name.clone())
            .collect();
        assert_eq!(kept, ["ratings"]);
        let everything = mesh_config::load_files(&config_files(config.path()).expect("list"));
        assert!(
            everything.diagnostics.is_empty(),
            "{:?}",
            everything.diagnostics
        );
        // Redefining the last resource of a file removes the file.
        let ratings_again = write(src.path(), "ratings.yaml", &ratings);
        apply(config.path(), &[ratings_again], None).expect("valid");
        assert_eq!(
            names(config.path()),
            ["dr.yaml", "ratings.yaml", "reviews.yaml"]
        );
    }

    #[test]
    fn documents_are_split_at_markers_that_start_a_line() {
        let text = "a: 1\n---\nb: |\n  --- not a marker\n--- # comment\nc: 3\n";
        assert_eq!(
            documents(text),
            ["a: 1\n", "b: |\n  --- not a marker\n", "c: 3\n"]
        );
    }
}
