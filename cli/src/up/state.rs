//! `<data-dir>/run/stack.json`: what a running launcher has started, for tools to read.
//!
//! It is written once the whole stack is ready (so its presence means "ready"), rewritten when
//! an instance or a sidecar is restarted with a new pid, and removed when the launcher stops. The end-to-end
//! test, the benchmark and `sailkit status` read it. Its shape:
//!
//! ```json
//! {
//!   "launcher_pid": 4100,
//!   "data_dir": "/home/me/sailkit/data",
//!   "front_door": "http://127.0.0.1:9080",
//!   "app_url": "http://127.0.0.1:9080/productpage",
//!   "vips": [
//!     {"name": "reviews", "service": "reviews", "url": "http://127.0.0.1:9082",
//!      "instances": ["reviews-v1", "reviews-v2", "reviews-v3"]}
//!   ],
//!   "instances": [
//!     {"name": "reviews-v2", "service": "reviews", "version": "v2",
//!      "url": "http://127.0.0.1:9103", "pid": 4107,
//!      "sidecar": {"pid": 4098, "outbound": "http://127.0.0.1:40121",
//!                  "admin": "http://127.0.0.1:40122", "inbound": "http://127.0.0.1:40123"}}
//!   ]
//! }
//! ```
//! `pid` is `null` while an instance is down (crashed, waiting to be restarted). `sidecar` is
//! absent with `sailkit up --no-mesh` and in the monolith stage, and so is `gateway`, the
//! ingress gateway the mesh comes with:
//!
//! ```json
//!   "gateway": {"name": "istio-ingressgateway", "gateway": "bookinfo-gateway", "pid": 4099,
//!               "url": "http://127.0.0.1:9088", "admin": "http://127.0.0.1:40124"}
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::services::ServiceName;

/// The file's name in `run/`.
pub const STATE_FILE: &str = "stack.json";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    pub launcher_pid: u32,
    pub data_dir: PathBuf,
    /// The productpage VIP, `http://127.0.0.1:<port>`: where users come in.
    pub front_door: String,
    /// The page to open in a browser: the front door's `/productpage`.
    pub app_url: String,
    /// One per service, in port order.
    pub vips: Vec<Vip>,
    /// One per instance, in plan order.
    pub instances: Vec<Instance>,
    /// The ingress gateway, with the mesh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
    /// The mesh's control plane (with the mesh, unless `--no-control-plane`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlane>,
    /// The mesh dashboard (with the mesh, unless `--no-dashboard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<Dashboard>,
}

/// The mesh dashboard (`sailkit-dashboard`), served by the launcher itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// `http://127.0.0.1:<port>`: the service graph, `/traces`, `/api/graph`.
    pub url: String,
    /// `http://127.0.0.1:<port>`: its OTLP gRPC trace receiver, where every proxy and instance
    /// sends its spans.
    pub otlp: String,
}

/// The control plane (`sailkit-control`): the proxies connect to it for their config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPlane {
    pub pid: u32,
    /// `http://127.0.0.1:<port>`: its gRPC API, where the proxies and `sailkit proxy-status`
    /// connect.
    pub grpc: String,
    /// `http://127.0.0.1:<port>`: `/ready`, `/config_dump`, `/proxies`, `/metrics`.
    pub admin: String,
}

/// The ingress gateway: a proxy of its own (no instance behind it) where outside traffic comes
/// in, routed by the VirtualServices bound to a Gateway resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gateway {
    /// The process: `istio-ingressgateway`, as Istio names its gateway.
    pub name: String,
    /// The Gateway resource whose VirtualServices it routes with: `bookinfo-gateway`.
    pub gateway: String,
    pub pid: u32,
    /// `http://127.0.0.1:<port>`: the way in (Istio's `$GATEWAY_URL`).
    pub url: String,
    /// `http://127.0.0.1:<port>`: `/ready`, `/config_dump`, `/stats`.
    pub admin: String,
}

/// A service's stable address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vip {
    pub name: String,
    pub service: ServiceName,
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    /// The names of the instances it spreads requests over.
    pub instances: Vec<String>,
}

/// One running instance of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub name: String,
    pub service: ServiceName,
    pub version: String,
    /// `http://127.0.0.1:<port>`, the instance's own address (bypassing its VIP).
    pub url: String,
    /// The process id, or `None` while the instance is down.
    pub pid: Option<u32>,
    /// Its mesh sidecar; absent with `--no-mesh` and in the monolith stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<Sidecar>,
}

/// The sidecar beside an instance (the mesh, on by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    pub pid: u32,
    /// `http://127.0.0.1:<port>`: the instance's `HTTP_PROXY`.
    pub outbound: String,
    /// `http://127.0.0.1:<port>`: `/ready`, `/config_dump`, `/stats`.
    pub admin: String,
    /// `http://127.0.0.1:<port>`: its inbound listener, in front of the instance, where the
    /// other sidecars and the VIP send the instance's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<String>,
}

impl Stack {
    /// The VIP of `service`.
    pub fn vip(&self, service: ServiceName) -> Option<&Vip> {
        self.vips.iter().find(|v| v.service == service)
    }
}

/// Reads `<run_dir>/stack.json`.
pub fn read(run_dir: &Path) -> std::io::Result<Stack> {
    let text = std::fs::read_to_string(run_dir.join(STATE_FILE))?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}

/// The launcher's copy of the state, and the file it keeps in step with it.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    /// `None` until the stack is ready and the file first written.
    stack: Mutex<Option<Stack>>,
}

impl StateFile {
    pub fn new(run_dir: &Path) -> Self {
        Self {
            path: run_dir.join(STATE_FILE),
            stack: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the file for the first time: from now on, the stack is ready.
    pub fn publish(&self, stack: Stack) -> std::io::Result<()> {
        let mut slot = self.lock();
        write_atomically(&self.path, &stack)?;
        *slot = Some(stack);
        Ok(())
    }

    /// Records a new pid (or none) for an instance; rewrites the file if it was published.
    pub fn set_pid(&self, instance: &str, pid: Option<u32>) {
        let mut slot = self.lock();
        let Some(stack) = slot.as_mut() else { return };
        if let Some(entry) = stack.instances.iter_mut().find(|i| i.name == instance) {
            entry.pid = pid;
        }
        if let Err(error) = write_atomically(&self.path, stack) {
            eprintln!("sailkit: cannot update {}: {error}", self.path.display());
        }
    }

    /// Records the new pid of an instance's sidecar (restarted); rewrites the file if it was
    /// published.
    pub fn set_sidecar_pid(&self, instance: &str, pid: u32) {
        let mut slot = self.lock();
        let Some(stack) = slot.as_mut() else { return };
        let entry = stack.instances.iter_mut().find(|i| i.name == instance);
        if let Some(sidecar) = entry.and_then(|i| i.sidecar.as_mut()) {
            sidecar.pid = pid;
        }
        if let Err(error) = write_atomically(&self.path, stack) {
            eprintln!("sailkit: cannot update {}: {error}", self.path.display());
        }
    }

    /// Records the new pid of the ingress gateway (restarted); rewrites the file if it was
    /// published.
    pub fn set_gateway_pid(&self, pid: u32) {
        let mut slot = self.lock();
        let Some(stack) = slot.as_mut() else { return };
        if let Some(gateway) = stack.gateway.as_mut() {
            gateway.pid = pid;
        }
        if let Err(error) = write_atomically(&self.path, stack) {
            eprintln!("sailkit: cannot update {}: {error}", self.path.display());
        }
    }

    /// Records the new pid of the control plane (restarted); rewrites the file if it was
    /// published.
    pub fn set_control_plane_pid(&self, pid: u32) {
        let mut slot = self.lock();
        let Some(stack) = slot.as_mut() else { return };
        if let Some(control) = stack.control_plane.as_mut() {
            control.pid = pid;
        }
        if let Err(error) = write_atomically(&self.path, stack) {
            eprintln!("sailkit: cannot update {}: {error}", self.path.display());
        }
    }

    /// Removes the file: the stack is no longer running.
    pub fn remove(&self) {
        let mut slot = self.lock();
        *slot = None;
        let _ = std::fs::remove_file(&self.path);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Stack>> {
        // A panic while holding this lock cannot leave the data half-changed, so a poisoned
        // lock is still good to use.
        self.stack.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes to a temporary file and renames it over the old one, so that a reader sees either
/// the old file or the new one, never half of it.
fn write_atomically(path: &Path, stack: &Stack) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(stack).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(data_dir: &Path) -> Stack {
        Stack {
            launcher_pid: 1,
            data_dir: data_dir.to_path_buf(),
            front_door: "http://127.0.0.1:9080".into(),
            app_url: "http://127.0.0.1:9080/productpage".into(),
            vips: vec![Vip {
                name: "ratings".into(),
                service: ServiceName::Ratings,
                url: "http://127.0.0.1:9083".into(),
                instances: vec!["ratings-v1".into()],
            }],
            instances: vec![Instance {
                name: "ratings-v1".into(),
                service: ServiceName::Ratings,
                version: "v1".into(),
                url: "http://127.0.0.1:9105".into(),
                pid: Some(10),
                sidecar: None,
            }],
            gateway: None,
            control_plane: None,
            dashboard: None,
        }
    }

    #[test]
    fn the_file_follows_the_launchers_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateFile::new(dir.path());
        state.set_pid("ratings-v1", Some(11));
        assert!(read(dir.path()).is_err(), "not written before publish");

        state.publish(sample(dir.path())).expect("write");
        assert_eq!(read(dir.path()).expect("read"), sample(dir.path()));

        state.set_pid("ratings-v1", None);
        let stack = read(dir.path()).expect("read");
        assert_eq!(stack.instances[0].pid, None);
        assert_eq!(
            stack.vip(ServiceName::Ratings).map(|v| v.url.as_str()),
            Some("http://127.0.0.1:9083")
        );

        state.remove();
        assert!(!state.path().exists());
    }

    #[test]
    fn a_restarted_gateway_gets_its_new_pid_in_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateFile::new(dir.path());
        let mut stack = sample(dir.path());
        stack.gateway = Some(Gateway {
            name: "istio-ingressgateway".into(),
            gateway: "bookinfo-gateway".into(),
            pid: 20,
            url: "http://127.0.0.1:9088".into(),
            admin: "http://127.0.0.1:40000".into(),
        });
        state.publish(stack).expect("write");
        state.set_gateway_pid(21);
        let read_back = read(dir.path()).expect("read");
        assert_eq!(read_back.gateway.map(|g| g.pid), Some(21));
        // A file without a gateway (`--no-mesh`) has no such field, and reads back as none.
        let plain = serde_json::to_value(sample(dir.path())).expect("json");
        assert!(plain.get("gateway").is_none(), "{plain}");
    }

    #[test]
    fn the_json_has_the_documented_field_names() {
        let value = serde_json::to_value(sample(Path::new("/d"))).expect("json");
        assert_eq!(value["launcher_pid"], 1);
        assert_eq!(value["vips"][0]["service"], "ratings");
        assert_eq!(value["instances"][0]["pid"], 10);
        assert_eq!(value["instances"][0]["version"], "v1");
    }
}
