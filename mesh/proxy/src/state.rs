//! The proxy's current view of the world, swapped whole when a file changes.
//!
//! A [`Snapshot`] holds the last good route table and registry, plus what the latest load
//! attempts said. It is immutable: the watcher builds a new one and stores it in an
//! [`ArcSwap`]; every request takes one `Arc` at its start and uses that same view to the end.
//! Readers never lock and never wait for a reload, and a reload never waits for requests.
//!
//! "Last good" is the rule for bad input: a config set with an error, or a registry that does
//! not parse, is logged and reported in `/config_dump`, and the previous value stays in force.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use mesh_config::RouteTable;

use crate::registry::Registry;
use crate::settings::Settings;

/// The last route table that loaded without errors, and where it came from.
#[derive(Debug)]
pub struct Routes {
    pub table: RouteTable,
    pub files: Vec<PathBuf>,
}

/// One consistent view for a request.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub routes: Option<Arc<Routes>>,
    /// Every diagnostic of the latest config load attempt (`file:line:col: severity: ...`).
    pub diagnostics: Vec<String>,
    /// True when the latest config attempt had errors and was not applied.
    pub config_rejected: bool,
    pub registry: Option<Arc<Registry>>,
    /// Why the latest registry read failed, if it did.
    pub registry_error: Option<String>,
}

impl Snapshot {
    /// Ready once a route table and a registry are in force.
    pub fn ready(&self) -> bool {
        self.routes.is_some() && self.registry.is_some()
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
                });
                return;
            }
        },
        None => Vec::new(),
    };
    let loaded = mesh_config::load_files(&files);
    for d in &loaded.diagnostics {
        match d.severity {
            mesh_config::Severity::Error => tracing::error!("{d}"),
            mesh_config::Severity::Warning => tracing::warn!("{d}"),
            mesh_config::Severity::Info => tracing::info!("{d}"),
        }
    }
    let diagnostics: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    if loaded.has_errors() {
        tracing::error!(
            files = files.len(),
            "config rejected; the last good config stays in force"
        );
        update(shared, |s| {
            s.diagnostics = diagnostics.clone();
            s.config_rejected = true;
        });
        return;
    }
    let routes = Arc::new(Routes {
        table: mesh_config::compile_in(&loaded.resources, &settings.namespace),
        files: files.clone(),
    });
    tracing::info!(
        files = files.len(),
        resources = loaded.resources.len(),
        "config applied"
    );
    update(shared, |s| {
        s.routes = Some(routes.clone());
        s.diagnostics = diagnostics.clone();
        s.config_rejected = false;
    });
}

/// Read the registry file; on error keep the previous registry and say why.
pub fn reload_registry(settings: &Settings, shared: &Shared) {
    match Registry::load(&settings.registry) {
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

/// Copy the current snapshot, change it, and swap it in. Only the watcher writes, so there is
/// no lost update between the load and the store.
fn update(shared: &Shared, change: impl Fn(&mut Snapshot)) {
    let current = shared.load();
    let mut next = Snapshot {
        routes: current.routes.clone(),
        diagnostics: current.diagnostics.clone(),
        config_rejected: current.config_rejected,
        registry: current.registry.clone(),
        registry_error: current.registry_error.clone(),
    };
    change(&mut next);
    shared.store(Arc::new(next));
}
