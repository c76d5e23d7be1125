//! After `sailkit apply` has written the files: wait until every proxy of the running stack
//! has loaded them, and say how long that took.
//!
//! The sidecars poll the config folder (every half second) and load a change off their request
//! path; a large config takes a while to build. So "applied" is only true once each proxy has
//! the new files in force, which it says in `/config_dump` as `config.version`: a digest of the
//! files' names and bytes (`mesh_proxy::state::config_version`). `apply` computes the same
//! digest over the folder it has just written and polls every sidecar and the ingress gateway
//! listed in `run/stack.json` until each reports that version, or until [`DEADLINE`]. What it
//! prints is what it saw: the time for the last proxy to take the config, the proxies that had
//! not by the deadline (and what they reported), or that no stack is running.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::up::{RUN_DIR, health, lock, state};

/// How long to wait for the proxies: generous, since a config of 10,000 routes takes a
/// second to build (and longer in a debug build).
pub const DEADLINE: Duration = Duration::from_secs(30);
/// The pause between two polls of a proxy still on an older version.
const POLL: Duration = Duration::from_millis(200);

/// One proxy to wait for: its name and its admin URL.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub name: String,
    pub admin: String,
}

/// What waiting found.
#[derive(Debug)]
pub enum Rollout {
    /// Every proxy reported the version, the last one `took` after the files were written.
    InForce { proxies: usize, took: Duration },
    /// Some proxies did not report it by the deadline: `(name, what they said last)`.
    Incomplete {
        in_force: usize,
        missing: Vec<(String, String)>,
    },
    /// A proxy loaded the files and refused them (they changed since `apply` checked them).
    Rejected { name: String, diagnostics: String },
}

/// The proxies of the stack running on `data_dir`, or `None` if none is running (the proxies
/// then load the files when they start).
pub fn proxies(data_dir: &Path) -> Option<Vec<Proxy>> {
    let run_dir = data_dir.join(RUN_DIR);
    // A `stack.json` left by a launcher that did not stop cleanly names proxies that are gone:
    // only a launcher holding the run lock is running.
    lock::holder(&run_dir).ok()??;
    let stack = state::read(&run_dir).ok()?;
    let sidecars = stack.instances.iter().filter_map(|instance| {
        let sidecar = instance.sidecar.as_ref()?;
        Some(Proxy {
            name: format!("{}{}", instance.name, crate::up::SIDECAR_SUFFIX),
            admin: sidecar.admin.clone(),
        })
    });
    let gateway = stack.gateway.iter().map(|gateway| Proxy {
        name: gateway.name.clone(),
        admin: gateway.admin.clone(),
    });
    Some(sidecars.chain(gateway).collect())
}

/// The version the proxies will report once they have loaded `files` (the config folder's, in
/// load order) as they are now.
pub fn expected_version(files: &[std::path::PathBuf]) -> Result<String, String> {
    let mut read = Vec::with_capacity(files.len());
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        read.push((name, bytes));
    }
    Ok(mesh_proxy::state::config_version(
        read.iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
    ))
}

/// Poll every proxy until each reports `version`, or `deadline` passes; `written` is when the
/// files were written.
pub fn wait(proxies: &[Proxy], version: &str, written: Instant, deadline: Duration) -> Rollout {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Rollout::Incomplete {
                in_force: 0,
                missing: vec![("apply".to_owned(), format!("no async runtime: {error}"))],
            };
        }
    };
    runtime.block_on(wait_all(proxies, version, written, deadline))
}

async fn wait_all(
    proxies: &[Proxy],
    version: &str,
    written: Instant,
    deadline: Duration,
) -> Rollout {
    let client = health::client();
    let mut waiting: Vec<(&Proxy, String)> = proxies
        .iter()
        .map(|p| (p, "not asked yet".to_owned()))
        .collect();
    loop {
        let mut still = Vec::new();
        for (proxy, _) in waiting {
            match seen(&client, proxy, version).await {
                Seen::Loaded => {}
                Seen::Rejected(diagnostics) => {
                    return Rollout::Rejected {
                        name: proxy.name.clone(),
                        diagnostics,
                    };
                }
                Seen::Not(why) => still.push((proxy, why)),
            }
        }
        waiting = still;
        if waiting.is_empty() {
            return Rollout::InForce {
                proxies: proxies.len(),
                took: written.elapsed(),
            };
        }
        if written.elapsed() >= deadline {
            return Rollout::Incomplete {
                in_force: proxies.len() - waiting.len(),
                missing: waiting
                    .into_iter()
                    .map(|(p, why)| (p.name.clone(), why))
                    .collect(),
            };
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What one proxy says about `version`.
enum Seen {
    Loaded,
    Rejected(String),
    /// Not yet, and what it said instead.
    Not(String),
}

async fn seen(client: &reqwest::Client, proxy: &Proxy, version: &str) -> Seen {
    let url = format!("{}/config_dump", proxy.admin);
    let dump: Value = match client.get(&url).send().await {
        Ok(response) => match response.json().await {
            Ok(dump) => dump,
            Err(error) => return Seen::Not(format!("GET {url}: {error}")),
        },
        Err(error) => return Seen::Not(format!("GET {url}: {error}")),
    };
    let config = &dump["config"];
    let reported = config["version"].as_str().unwrap_or("none");
    if reported != version {
        let loading = if config["loading"].as_bool() == Some(true) {
            ", loading a newer one"
        } else {
            ""
        };
        return Seen::Not(format!("still on version {reported}{loading}"));
    }
    if config["rejected"].as_bool() == Some(true) {
        let diagnostics = config["diagnostics"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        return Seen::Rejected(diagnostics);
    }
    Seen::Loaded
}
