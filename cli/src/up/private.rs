//! Keeping the data directory private to the user who runs the stack.
//!
//! `data/` holds the banner admin's password, the databases (with the admin's sessions and the
//! audit log) and every instance's log. None of it is for other users of the machine, so the
//! folder and its sub-folders are `0700`, and the launcher sets its umask to `077` before it
//! starts anything: every file it or its children create (SQLite databases and their `-wal` and
//! `-shm` companions, logs, `stack.json`) is then `0600`. Files an older version left readable
//! are tightened at start.

use std::fs::{DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use nix::sys::stat::{Mode, umask};

/// Mode of the data directory and its folders: the owner only.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in them: the owner reads and writes.
pub const FILE_MODE: u32 = 0o600;

/// From now on, files and folders this process and its children create are the owner's only.
pub fn restrict_new_files() {
    // The previous mask is not needed: the launcher never widens it again.
    let _previous = umask(Mode::from_bits_truncate(0o077));
}

/// Creates `dir` (and its parents) if needed and makes it `0700`, whatever mode it had.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Takes group and other permissions off every file directly in `dir` (not recursive: each
/// folder of `data/` is tightened on its own).
pub fn tighten_files(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        if metadata.is_file() && metadata.permissions().mode() & 0o077 != 0 {
            let mode = metadata.permissions().mode() & FILE_MODE;
            std::fs::set_permissions(entry.path(), Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_data_dir_is_made_private_and_its_readable_files_tightened() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("created");
        std::fs::set_permissions(&data, Permissions::from_mode(0o755)).expect("chmod");
        let old_log = data.join("banner.db");
        std::fs::write(&old_log, "x").expect("written");
        std::fs::set_permissions(&old_log, Permissions::from_mode(0o644)).expect("chmod");

        private_dir(&data).expect("made private");
        private_dir(&data.join("logs")).expect("created private");
        tighten_files(&data).expect("tightened");

        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("logs")), 0o700);
        assert_eq!(mode(&old_log), 0o600);
    }
}
