//! Config reload: poll the config directory, the registry file and (with `--app-addr-file`) the
//! application's address file, reload what changed.
//!
//! Polling every 500 ms is simple and works everywhere (editors that replace files, bind mounts,
//! network file systems), and half a second is quick enough for a learner applying a scenario.
//! A change is any difference in the list of files, their sizes or modification times.
//!
//! A changed config directory is loaded and compiled on tokio's blocking pool, not on the
//! thread that runs this loop: with `--workers 1` that thread also serves every request, and
//! a large config (10,000 routes) takes long enough to build that requests would wait for it.
//! Requests keep the table in force until the new one is swapped in whole (see `state`).
//!
//! With `--control-plane` the config and the registry come from the control plane (see
//! `control`), and only the application's address file is watched here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::Proxy;
use crate::state;

/// How often the files are checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What identifies a version of a set of files.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    files
        .iter()
        .map(|path| {
            let meta = std::fs::metadata(path).ok();
            (
                path.clone(),
                meta.as_ref().map_or(0, |m| m.len()),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect()
}

fn config_fingerprint(dir: Option<&Path>) -> Fingerprint {
    dir.and_then(|d| state::config_files(d).ok())
        .map(|files| fingerprint(&files))
        .unwrap_or_default()
}

/// Remembers what the files looked like when they were last loaded.
pub struct Watcher {
    config_seen: Fingerprint,
    registry_seen: Fingerprint,
    app_seen: Fingerprint,
}

impl Watcher {
    /// Take the fingerprints, then load every input. In this order, a file changed during the
    /// first load is seen as changed at the first poll, never missed.
    pub fn start(proxy: &Proxy) -> Watcher {
        let settings = &proxy.settings;
        let watcher = Watcher {
            config_seen: config_fingerprint(settings.config_dir.as_deref()),
            registry_seen: fingerprint(std::slice::from_ref(&settings.registry)),
            app_seen: fingerprint(settings.app_addr_file.as_slice()),
        };
        if watches_files(settings) {
            state::reload_config(settings, &proxy.state);
            state::reload_registry(settings, &proxy.state);
        }
        state::reload_app(settings, &proxy.state);
        watcher
    }

    /// Reload each input when it changes, until `shutdown`.
    pub async fn run(mut self, proxy: Arc<Proxy>, shutdown: CancellationToken) {
        let settings = &proxy.settings;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            if watches_files(settings) {
                self.reload_files(&proxy).await;
            }
            let app_now = fingerprint(settings.app_addr_file.as_slice());
            if app_now != self.app_seen {
                self.app_seen = app_now;
                state::reload_app(settings, &proxy.state);
            }
        }
    }

    /// Reload the config directory and the registry if they changed.
    async fn reload_files(&mut self, proxy: &Arc<Proxy>) {
        let settings = &proxy.settings;
        let config_now = config_fingerprint(settings.config_dir.as_deref());
        if config_now != self.config_seen {
            self.config_seen = config_now;
            reload_config_off_the_request_path(proxy).await;
            proxy.stats.config_reloads.increment();
        }
        let registry_now = fingerprint(std::slice::from_ref(&settings.registry));
        if registry_now != self.registry_seen {
            self.registry_seen = registry_now;
            state::reload_registry(settings, &proxy.state);
            proxy.stats.registry_reloads.increment();
        }
    }
}

/// The config directory and the registry file are the source of config (no `--control-plane`).
fn watches_files(settings: &crate::Settings) -> bool {
    settings.control_plane.is_none()
}

/// Load and compile the config directory on the blocking pool, and wait for it there; this
/// loop is the only writer of the config, so nothing else changes it meanwhile.
async fn reload_config_off_the_request_path(proxy: &Arc<Proxy>) {
    state::mark_config_loading(&proxy.state, true);
    let loader = proxy.clone();
    let reload =
        tokio::task::spawn_blocking(move || state::reload_config(&loader.settings, &loader.state));
    if let Err(error) = reload.await {
        tracing::error!(%error, "config reload failed; the last good config stays in force");
        state::mark_config_loading(&proxy.state, false);
    }
}
