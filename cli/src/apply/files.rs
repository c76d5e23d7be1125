//! The config folder as the sidecars see it: its YAML files, in the order they load them, and
//! how a file goes in without a sidecar ever reading half of it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

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

pub(super) fn file_name(file: &Path) -> Result<OsString, String> {
    file.file_name()
        .map(OsString::from)
        .ok_or_else(|| format!("{}: not a file name", file.display()))
}

/// Writes under a name the sidecars ignore (not `.yaml`), then renames into place.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
