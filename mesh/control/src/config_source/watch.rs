//! Polling the folder: reload it when a file comes, goes or changes.
//!
//! Every 500 ms the loop takes a fingerprint of the folder (the YAML files' names, sizes and
//! modification times) and reloads when it differs from the last one, as the sidecars do with
//! their folder (`mesh/proxy/src/watch.rs`). Polling works everywhere: editors that replace
//! files, bind mounts, network file systems. The reload runs on tokio's blocking pool, since
//! parsing a large file takes a while.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_util::sync::CancellationToken;

use super::load::config_files;
use super::{ConfigState, Loader};
use crate::control_plane::ControlPlane;

/// How often the folder is checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What identifies one version of the folder's files.
pub type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// The folder's fingerprint now (empty without a folder, or when it cannot be listed).
pub fn fingerprint(dir: Option<&Path>) -> Fingerprint {
    let Some(files) = dir.and_then(|dir| config_files(dir).ok()) else {
        return Vec::new();
    };
    files
        .into_iter()
        .map(|(_, path)| {
            let meta = std::fs::metadata(&path).ok();
            let size = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (path, size, modified)
        })
        .collect()
}

/// The loader, shared by the folder watcher and the Config API (`config_api`): only the holder
/// of its lock reads or writes the folder, so a change through the API and a poll never
/// interleave, and the config in force is always the holder's last read.
pub type SharedLoader = Arc<Mutex<Loader>>;

/// Loads the folder on the blocking pool, with the loader locked; gives the lock back with what
/// it read, so the caller puts it in force before anyone reads again.
pub async fn load_off_the_runtime(
    mut loader: OwnedMutexGuard<Loader>,
) -> anyhow::Result<(OwnedMutexGuard<Loader>, ConfigState)> {
    let loaded = tokio::task::spawn_blocking(move || {
        let state = loader.load();
        (loader, state)
    })
    .await?;
    Ok(loaded)
}

/// Reloads the folder whenever its fingerprint changes, until `shutdown`. `seen` is the
/// fingerprint taken before the first load, so a change made during that load is not missed.
pub async fn run(
    loader: SharedLoader,
    dir: Option<PathBuf>,
    mut seen: Fingerprint,
    control: Arc<ControlPlane>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        let now = fingerprint(dir.as_deref());
        if now == seen {
            continue;
        }
        seen = now;
        match load_off_the_runtime(Arc::clone(&loader).lock_owned().await).await {
            Ok((_locked, state)) => control.set_config(state),
            Err(error) => {
                tracing::error!(%error, "the config reload failed; the config in force stays");
                return;
            }
        }
    }
}
