//! One launcher per data directory.
//!
//! Two launchers on one data directory would fight over the SQLite files, the address files and
//! `stack.json`. So `up` takes an exclusive lock on `<data-dir>/run/lock` and holds it for as
//! long as it runs. The lock belongs to the open file, and the operating system drops it when the
//! process ends, however it ends: a launcher killed with SIGKILL leaves no stale lock behind (at
//! most a stale file, which the next launcher simply locks again). Children do not inherit it:
//! Rust opens files close-on-exec.
//!
//! The file also says who holds it (pid and front door, as JSON), so a second launcher can tell
//! the person which one to stop.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::UpError;

/// The lock file's name in `run/`.
pub const LOCK_FILE: &str = "lock";

/// What the lock file says about its holder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// Known once the front door is bound; absent while the launcher is still binding.
    pub front_door: Option<String>,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if let Some(url) = &self.front_door {
            write!(f, ", front door {url}")?;
        }
        Ok(())
    }
}

/// The held lock. Dropping it releases the lock; [`RunLock::release`] also removes the file.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock in `run_dir`, or says who holds it.
    pub fn acquire(run_dir: &Path) -> Result<Self, UpError> {
        let path = run_dir.join(LOCK_FILE);
        let lock_error = |source| UpError::Lock {
            path: path.clone(),
            source,
        };
        let mut file = open(&path).map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { file, path }),
            Err(TryLockError::WouldBlock) => {
                let owner = read_owner(&mut file)
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "its pid is not recorded yet".to_string());
                Err(UpError::AlreadyRunning { owner })
            }
            Err(TryLockError::Error(source)) => Err(lock_error(source)),
        }
    }

    /// Records the holder in the lock file, for a second launcher or `sailkit status` to read.
    pub fn record(&mut self, owner: &Owner) -> std::io::Result<()> {
        let json = serde_json::to_vec(owner).map_err(std::io::Error::other)?;
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(&json)
    }

    /// Removes the file, then lets go of the lock (in that order, so that no other launcher can
    /// lock the file in between and then see it vanish).
    pub fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// Who holds the lock in `run_dir`: `Ok(None)` when nobody does.
pub fn holder(run_dir: &Path) -> std::io::Result<Option<Owner>> {
    let path = run_dir.join(LOCK_FILE);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // A shared lock is granted unless a launcher holds the exclusive one. Taking it for a moment
    // is harmless: it is released as `file` is dropped.
    match file.try_lock_shared() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => Ok(Some(read_owner(&mut file).unwrap_or_default())),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn read_owner(file: &mut File) -> Option<Owner> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_details() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut first = RunLock::acquire(dir.path()).expect("free");
        let owner = Owner {
            pid: 4242,
            front_door: Some("http://127.0.0.1:9080".into()),
        };
        first.record(&owner).expect("record");

        let error = RunLock::acquire(dir.path()).expect_err("held");
        let text = error.to_string();
        assert!(text.contains("already running"), "{text}");
        assert!(
            text.contains("pid 4242, front door http://127.0.0.1:9080"),
            "{text}"
        );
        assert!(text.contains("--data-dir"), "{text}");
        assert!(text.contains("--port-base"), "{text}");
        assert_eq!(holder(dir.path()).expect("readable"), Some(owner));

        first.release();
        assert_eq!(holder(dir.path()).expect("readable"), None);
        RunLock::acquire(dir.path()).expect("free again");
    }
}
