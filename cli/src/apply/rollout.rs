//! After a change made on the config folder itself (a stack without a control plane): wait
//! until every proxy of the running stack has loaded it, and say how long that took.
//!
//! The sidecars poll the config folder (every half second) and load a change off their request
//! path; a large config takes a while to build. So "applied" is only true once each proxy has
//! the new files in force, which it says in `/config_dump` as `config.version`: a digest of the
//! files' names and bytes (`mesh_proxy::state::config_version`). `apply` computes the same
//! digest over the folder it has just written (`folder::version`) and polls every sidecar and the ingress gateway
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::apply;
    use crate::up::mesh;

    const SUBSETS: &str = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n  subsets:\n    - name: v1\n      labels:\n        version: v1\n";
    const TO_V1: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n    - reviews\n  http:\n    - route:\n        - destination:\n            host: reviews\n            subset: v1\n";

    /// A sidecar of a running stack, in-process on `127.0.0.1:0`, reading the config folder of
    /// `data_dir`, and listed in a `stack.json` whose launcher (this test) holds the run lock.
    struct RunningSidecar {
        admin: String,
        shutdown: tokio_util::sync::CancellationToken,
        thread: Option<std::thread::JoinHandle<()>>,
        _lock: crate::up::lock::RunLock,
    }

    impl RunningSidecar {
        fn start(data_dir: &Path) -> RunningSidecar {
            use clap::Parser as _;

            let run_dir = data_dir.join(crate::up::RUN_DIR);
            std::fs::create_dir_all(&run_dir).expect("run dir");
            std::fs::create_dir_all(mesh::config_dir(data_dir)).expect("config dir");
            let lock = crate::up::lock::RunLock::acquire(&run_dir).expect("run lock");
            let registry = mesh::registry_path(data_dir);
            std::fs::write(&registry, r#"{"services": [{"name": "reviews"}]}"#).expect("registry");
            let settings = mesh_proxy::Settings::try_parse_from([
                "mesh-proxy",
                "--config-dir",
                &mesh::config_dir(data_dir).display().to_string(),
                "--registry",
                &registry.display().to_string(),
                "--outbound",
                "127.0.0.1:0",
                "--admin",
                "127.0.0.1:0",
                "--access-log",
                "off",
            ])
            .expect("proxy flags");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let listeners = runtime.block_on(mesh_proxy::bind(&settings)).expect("bind");
            let admin = format!("http://{}", listeners.admin.local_addr().expect("address"));
            let shutdown = tokio_util::sync::CancellationToken::new();
            let stop = shutdown.clone();
            let thread = std::thread::spawn(move || {
                runtime.block_on(mesh_proxy::run_with(settings, listeners, stop));
            });
            let stack = crate::up::state::Stack {
                launcher_pid: std::process::id(),
                data_dir: data_dir.to_owned(),
                front_door: "http://127.0.0.1:9".to_owned(),
                app_url: "http://127.0.0.1:9/productpage".to_owned(),
                vips: Vec::new(),
                instances: vec![crate::up::state::Instance {
                    name: "reviews-v1".to_owned(),
                    service: crate::services::ServiceName::Reviews,
                    version: "v1".to_owned(),
                    url: "http://127.0.0.1:9".to_owned(),
                    pid: None,
                    sidecar: Some(crate::up::state::Sidecar {
                        pid: std::process::id(),
                        outbound: "http://127.0.0.1:9".to_owned(),
                        admin: admin.clone(),
                        inbound: None,
                    }),
                }],
                gateway: None,
                control_plane: None,
                dashboard: None,
            };
            let json = serde_json::to_string(&stack).expect("stack json");
            std::fs::write(run_dir.join(crate::up::state::STATE_FILE), json).expect("stack.json");
            RunningSidecar {
                admin,
                shutdown,
                thread: Some(thread),
                _lock: lock,
            }
        }

        /// `config.version` and `config.files` of its `/config_dump`.
        fn config(&self) -> (String, Vec<String>) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let dump: serde_json::Value = runtime.block_on(async {
                crate::up::health::client()
                    .get(format!("{}/config_dump", self.admin))
                    .send()
                    .await
                    .expect("admin answers")
                    .json()
                    .await
                    .expect("JSON")
            });
            let files = dump["config"]["files"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str())
                .map(|f| f.rsplit('/').next().unwrap_or(f).to_owned())
                .collect();
            let version = dump["config"]["version"].as_str().unwrap_or("none");
            (version.to_owned(), files)
        }
    }

    impl Drop for RunningSidecar {
        fn drop(&mut self) {
            self.shutdown.cancel();
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    #[test]
    fn apply_returns_once_every_sidecar_has_the_files_in_force() {
        let src = tempfile::tempdir().expect("tempdir");
        let data = tempfile::tempdir().expect("tempdir");
        let sidecar = RunningSidecar::start(data.path());
        let config = mesh::config_dir(data.path());
        let services = apply::known_services(&mesh::registry_path(data.path())).expect("registry");
        for (name, text) in [("dr.yaml", SUBSETS), ("vs.yaml", TO_V1)] {
            let file = src.path().join(name);
            std::fs::write(&file, text).expect("write");
            let files = apply::read_files(&[file]).expect("read");
            let written = apply::folder::apply(&config, &files, Some(&services)).expect("valid");
            let expected = apply::folder::version(&config).expect("version");
            apply::wait_for_proxies(data.path(), &expected, written).expect("in force");
            // No pause: when `apply` returns, the sidecar already has exactly these files.
            let (version, files) = sidecar.config();
            assert_eq!(version, expected);
            assert!(files.iter().any(|f| f == name), "{name} not in {files:?}");
        }
    }

    #[test]
    fn a_proxy_that_does_not_load_the_files_is_named() {
        let data = tempfile::tempdir().expect("tempdir");
        let sidecar = RunningSidecar::start(data.path());
        let running = proxies(data.path()).expect("a stack is running");
        let outcome = wait(
            &running,
            "0000000000000000",
            std::time::Instant::now(),
            std::time::Duration::from_millis(300),
        );
        let Rollout::Incomplete { in_force, missing } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(in_force, 0);
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert_eq!(missing[0].0, "reviews-v1-sidecar");
        assert!(missing[0].1.contains("still on version"), "{missing:?}");
        drop(sidecar);
        // Once the launcher is gone, its proxies are not waited for.
        assert!(proxies(data.path()).is_none());
    }
}
