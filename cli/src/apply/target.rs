//! Where a change goes: to the control plane of the running stack (or of `--control-plane
//! URL`, a stack elsewhere such as docker compose), or, when the stack runs without one
//! (`--no-control-plane`) or no stack runs, into the config folder itself.

use std::path::{Path, PathBuf};

use crate::up::{RUN_DIR, lock, mesh, state};

/// Where `apply`, `delete` and `apply --list` send their change or question.
#[derive(Debug, Clone)]
pub enum Target {
    /// The Config API of a control plane.
    ControlPlane {
        /// Its gRPC URL (`http://127.0.0.1:9089`).
        url: String,
        /// Its config folder as this machine names it (`data/mesh/config`), when it is the
        /// running stack's; `None` for a control plane elsewhere, which names its own.
        folder: Option<PathBuf>,
    },
    /// The config folder of `data_dir`, changed in place.
    Folder { data_dir: PathBuf, dir: PathBuf },
}

/// `--control-plane URL` when given, else the control plane of the stack running from
/// `data_dir`, else that data directory's folder.
pub fn target(data_dir: &Path, control_plane: Option<&str>) -> Target {
    if let Some(url) = control_plane {
        return Target::ControlPlane {
            url: url.to_owned(),
            folder: None,
        };
    }
    let folder = mesh::config_dir(data_dir);
    match running_control_plane(data_dir) {
        Some(url) => Target::ControlPlane {
            url,
            folder: Some(folder),
        },
        None => Target::Folder {
            data_dir: data_dir.to_owned(),
            dir: folder,
        },
    }
}

/// The gRPC URL of the control plane of the stack running from `data_dir`. A `stack.json`
/// left by a launcher that did not stop cleanly does not count: only a launcher holding the
/// run lock is running.
fn running_control_plane(data_dir: &Path) -> Option<String> {
    let run_dir = data_dir.join(RUN_DIR);
    lock::holder(&run_dir).ok()??;
    Some(state::read(&run_dir).ok()?.control_plane?.grpc)
}
