//! The proxy's current view of the world, swapped whole when a file changes.
//!
//! A [`Snapshot`] holds the last good route table and registry, plus what the latest load
//! attempts said. It is immutable: the watcher builds a new one and stores it in an
//! [`ArcSwap`]; every request takes one `Arc` at its start and uses that same view to the end.
//! Readers never lock and never wait for a reload, and a reload never waits for requests.
//!
//! "Last good" is the rule for bad input: a config set with an error, or a registry that does
//! not parse, is logged and reported in `/config_dump`, and the previous value stays in force.
//! The same holds for the application's address file (`--app-addr-file`), whose address the
//! inbound side reads from the snapshot on every request. With `--control-plane` the config and
//! the registry come in the control plane's snapshots instead (see `control`), under the same
//! rule: a snapshot that does not build is refused, and the last good one stays.
//!
//! Each config attempt is named by its [`config_version`], a digest of the files' names and
//! bytes. `/config_dump` shows it, so `sailkit apply`, which computes the same digest over the
//! files it wrote, can tell when every sidecar has loaded exactly them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use mesh_config::{Loaded, RouteTable};

use crate::registry::Registry;
use crate::settings::Settings;

/// The last route table that loaded without errors, and where it came from.
#[derive(Debug)]
pub struct Routes {
    pub table: RouteTable,
    pub files: Vec<PathBuf>,
    /// What the `route` stage worked out for this table, kept for the next requests.
    pub memo: crate::stage::route::Memo,
}

impl Routes {
    pub fn new(table: RouteTable, files: Vec<PathBuf>) -> Routes {
        Routes {
            table,
            files,
            memo: Default::default(),
        }
    }
}

/// One consistent view for a request.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub routes: Option<Arc<Routes>>,
    /// Every diagnostic of the latest config load attempt (`file:line:col: severity: ...`).
    pub diagnostics: Vec<String>,
    /// True when the latest config attempt had errors and was not applied.
    pub config_rejected: bool,
    /// The [`config_version`] of the files of the latest config attempt; `None` before the first.
    pub config_version: Option<String>,
    /// True while a changed config directory is being loaded and compiled (off the request
    /// path: requests keep using the table in force until the new one is swapped in).
    pub config_loading: bool,
    pub registry: Option<Arc<Registry>>,
    /// Why the latest registry read failed, if it did.
    pub registry_error: Option<String>,
    /// The local application, where the inbound side forwards: `--app`, or the last good
    /// address read from `--app-addr-file`. `None` until one is known.
    pub app: Option<SocketAddr>,
    /// Why the latest read of `--app-addr-file` gave no address, if it did not.
    pub app_error: Option<String>,
    /// With `--control-plane`: the stream and the last snapshot (see `control`).
    pub control: crate::control::Status,
    /// With `--control-plane`: the header this proxy signs its calls with, and whose headers
    /// it believes (see `peer`). `None` without a control plane, or before its first snapshot.
    pub peers: Option<Arc<crate::peer::Peers>>,
}

impl Snapshot {
    /// Ready once a route table and a registry are in force.
    pub fn ready(&self) -> bool {
        self.routes.is_some() && self.registry.is_some()
    }

    /// Why the proxy cannot serve yet, one reason a line, or `None` once it can: a route table
    /// and a registry are in force and, with `--app-addr-file`, the application's address is
    /// known.
    pub fn not_ready(&self, settings: &Settings) -> Option<String> {
        let mut reasons = Vec::new();
        match (&settings.control_plane, self.ready()) {
            (_, true) => {}
            (Some(url), false) => {
                reasons.push(format!("waiting for the control plane at {url}"));
            }
            (None, false) => reasons.push("no valid config or registry loaded yet".to_owned()),
        }
        if let (Some(file), None) = (&settings.app_addr_file, self.app) {
            reasons.push(format!(
                "the application's address is not known yet (--app-addr-file {})",
                file.display()
            ));
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

/// The shared, swappable snapshot.
pub type Shared = ArcSwap<Snapshot>;

/// The YAML files of the config directory, sorted so load order (and so tie-breaking between
/// VirtualServices) does not depend on the file system.
pub fn config_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Load the config directory; on errors keep `previous` and say why.
pub fn reload_config(settings: &Settings, shared: &Shared) {
    let files = match &settings.config_dir {
        Some(dir) => match config_files(dir) {
            Ok(files) => files,
            Err(error) => {
                let message = format!(
                    "{}: cannot list the config directory: {error}",
                    dir.display()
                );
                tracing::error!("{message}");
                update(shared, |s| {
                    s.diagnostics = vec![message.clone()];
                    s.config_rejected = true;
                    s.config_loading = false;
                });
                return;
            }
        },
        None => Vec::new(),
    };
    let (loaded, version) = load_config_files(&files);
    let diagnostics: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    if loaded.has_errors() {
        tracing::error!(
            files = files.len(),
            "config rejected; the last good config stays in force"
        );
        update(shared, |s| {
            s.diagnostics = diagnostics.clone();
            s.config_rejected = true;
            s.config_version = Some(version.clone());
            s.config_loading = false;
        });
        return;
    }
    let routes = Arc::new(Routes::new(
        mesh_config::compile_in(&loaded.resources, &settings.namespace),
        files.clone(),
    ));
    tracing::info!(
        files = files.len(),
        resources = loaded.resources.len(),
        %version,
        "config applied"
    );
    // The parsed resources are not needed once compiled: free them before the old table goes.
    drop(loaded);
    update(shared, |s| {
        s.routes = Some(routes.clone());
        s.diagnostics = diagnostics.clone();
        s.config_rejected = false;
        s.config_version = Some(version.clone());
        s.config_loading = false;
    });
}

/// Say in the snapshot that a config load has started (`/config_dump` shows `loading`).
pub fn mark_config_loading(shared: &Shared, loading: bool) {
    update(shared, |s| s.config_loading = loading);
}

/// Load `files` as one set, reading each file once, and name the set by what was read: the
/// version and the table then describe the same bytes even if a file changes meanwhile.
fn load_config_files(files: &[PathBuf]) -> (Loaded, String) {
    let mut loaded = Loaded::default();
    let mut read = Vec::with_capacity(files.len());
    for path in files {
        let one = match std::fs::read_to_string(path) {
            Ok(text) => {
                let one = mesh_config::load_str(&path.display().to_string(), &text);
                read.push((file_name(path), text));
                one
            }
            // The loader turns an unreadable file into its usual diagnostic.
            Err(_) => mesh_config::load_file(path),
        };
        loaded.resources.extend(one.resources);
        loaded.diagnostics.extend(one.diagnostics);
    }
    loaded
        .diagnostics
        .extend(mesh_config::validate::check_set(&loaded.resources));
    let version = config_version(
        read.iter()
            .map(|(name, text)| (name.as_str(), text.as_bytes())),
    );
    (loaded, version)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The version of a set of config files ([`mesh_config::config_version`]): equal versions
/// mean the same files with the same contents, whoever computes it.
pub use mesh_config::config_version;

/// Read the registry file; on error keep the previous registry and say why.
pub fn reload_registry(settings: &Settings, shared: &Shared) {
    match Registry::load(&settings.registry, &settings.namespace) {
        Ok(registry) => {
            tracing::info!(services = registry.services.len(), "registry applied");
            let registry = Arc::new(registry);
            update(shared, |s| {
                s.registry = Some(registry.clone());
                s.registry_error = None;
            });
        }
        Err(message) => {
            // Before any registry has been loaded, a missing file is the normal start-up order
            // (the launcher writes it once the applications are up): say so quietly.
            let never_loaded = shared.load().registry.is_none();
            if never_loaded && !settings.registry.exists() {
                tracing::info!(
                    registry = %settings.registry.display(),
                    "waiting for the registry file; not ready until it appears"
                );
            } else {
                tracing::error!("{message}; the last good registry stays in force");
            }
            update(shared, |s| s.registry_error = Some(message.clone()));
        }
    }
}

/// Read the application's address file (`--app-addr-file`): its whole text, trimmed, is
/// `IP:PORT`. On error keep the previous address and say why; a file that does not exist yet
/// is the normal start-up order (the sidecar starts before its application) and is said quietly.
pub fn reload_app(settings: &Settings, shared: &Shared) {
    let Some(path) = &settings.app_addr_file else {
        return;
    };
    let read = std::fs::read_to_string(path);
    let parsed = match &read {
        Ok(text) => text.trim().parse::<SocketAddr>().map_err(|error| {
            format!(
                "{}: `{}` is not an application address (IP:PORT): {error}",
                path.display(),
                text.trim()
            )
        }),
        Err(error) => Err(format!("{}: cannot read: {error}", path.display())),
    };
    match parsed {
        Ok(app) => {
            if shared.load().app != Some(app) {
                tracing::info!(%app, "application address applied");
            }
            update(shared, |s| {
                s.app = Some(app);
                s.app_error = None;
            });
        }
        Err(message) => {
            let missing = matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::NotFound);
            let known = shared.load().app;
            match (missing, known) {
                (true, None) => tracing::info!(
                    file = %path.display(),
                    "waiting for the application's address file; the inbound side answers \
                     503 until it appears"
                ),
                // The application is restarting: it removed its file and will write it again.
                (true, Some(app)) => tracing::info!(
                    %app,
                    file = %path.display(),
                    "the application's address file is gone; the last address stays in force"
                ),
                (false, _) => {
                    tracing::error!("{message}; the last good application address stays in force")
                }
            }
            update(shared, |s| s.app_error = Some(message.clone()));
        }
    }
}

/// Copy the current snapshot, change it, and swap it in. Two tasks may write (with
/// `--control-plane`, the control client and the watcher of `--app-addr-file`), so this is a
/// read-copy-update: if the snapshot changed meanwhile, `change` runs again on the newer one and
/// no update is lost.
pub fn update(shared: &Shared, change: impl Fn(&mut Snapshot)) {
    shared.rcu(|current| {
        let mut next = copy(current);
        change(&mut next);
        next
    });
}

/// A snapshot with the same values (the tables are shared, not copied).
fn copy(current: &Snapshot) -> Snapshot {
    Snapshot {
        routes: current.routes.clone(),
        diagnostics: current.diagnostics.clone(),
        config_rejected: current.config_rejected,
        config_version: current.config_version.clone(),
        config_loading: current.config_loading,
        registry: current.registry.clone(),
        registry_error: current.registry_error.clone(),
        app: current.app,
        app_error: current.app_error.clone(),
        control: current.control.clone(),
        peers: current.peers.clone(),
    }
}
