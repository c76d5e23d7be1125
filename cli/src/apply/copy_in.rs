//! Step 3 of `sailkit apply`: once the check finds no error, copy the files in and take out (or
//! trim) the applied files they replace. On any error the folder is left as it was.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mesh_config::Loaded;

use super::check::{Checked, check};
use super::files::{file_name, write_atomically};

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
