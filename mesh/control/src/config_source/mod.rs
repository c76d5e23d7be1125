//! The config source: a folder of Istio YAML, admitted file by file.
//!
//! istiod takes its config from the Kubernetes API, where an admission webhook refuses a bad
//! resource before it is stored. Here the source is a folder, so the admission happens when the
//! folder is read ([`load`]): a file with errors is refused with its `file:line:col`
//! diagnostics, and its last good content (if it had one) stays in force; the files accepted
//! are then checked together, and a set that does not hold together is refused whole. The
//! folder is polled for changes ([`watch`]), as the sidecars poll theirs.
//!
//! Changes come through [`store`] too: `sailkit apply` and `sailkit delete` (through the
//! control plane's Config API, or on the folder itself when a stack runs without a control
//! plane) check a change with what stays and write it whole, or not at all.
//!
//! What the source produces is a [`ConfigState`]: the files in force, the files refused and
//! why, and the config version of the files in force.

pub mod load;
pub mod store;
pub mod watch;

pub use load::{Loader, NamedText};

use mesh_api::v1::ConfigFile;

/// The config in force after a read of the folder, and what was refused.
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    /// The accepted files, sorted by name: what the proxies receive.
    pub files: Vec<ConfigFile>,
    /// The files refused by the last read, sorted by name, each with its diagnostics.
    pub refused: Vec<Refused>,
    /// [`mesh_config::config_version`] over the accepted files' names and texts.
    pub config_version: String,
}

/// A file that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The file's name in the folder.
    pub file: String,
    /// Each error as `file:line:col: error: path: message`.
    pub diagnostics: Vec<String>,
}

impl ConfigState {
    /// The state of a config made of `files` (sorted by name), with the version they give.
    pub fn new(files: Vec<ConfigFile>, refused: Vec<Refused>) -> ConfigState {
        let config_version = mesh_config::config_version(
            files
                .iter()
                .map(|file| (file.name.as_str(), file.yaml.as_bytes())),
        );
        ConfigState {
            files,
            refused,
            config_version,
        }
    }
}
