//! The mesh in the local stack (`sailkit up`, unless `--no-mesh`): where its files are, the registry the
//! sidecars read, and how an instance is pointed at its sidecar.
//!
//! In Kubernetes, Istio injects a sidecar into each pod and the control plane tells every
//! sidecar where the endpoints of each service are. Here the launcher plays both parts:
//! - each instance gets its own sidecar process, `<instance>-sidecar` (see [`super::sidecar`]);
//! - the instance is started with `HTTP_PROXY=http://<its sidecar's outbound address>`, and its
//!   peers are named the Kubernetes way (`REVIEWS_HOSTNAME=reviews`, port 9080), so its HTTP
//!   client sends `GET http://reviews:9080/...` to the sidecar, which resolves `reviews` itself
//!   (the port in the name is not used to find the endpoints);
//! - with `sailkit up --inbound`, each sidecar also has an inbound listener in front of its
//!   instance (the proxy's `--inbound`), as an
//!   Istio sidecar intercepts a pod's incoming traffic: a call between two services crosses the
//!   caller's sidecar (outbound: routing, faults, retries) and then the callee's (inbound:
//!   forward and log). The sidecar starts before its instance, so it cannot be told the
//!   instance's port; it is given the instance's address file instead (`--app-addr-file`, the
//!   instance's `SAILKIT_ADDR_FILE`) and follows it: the instance binds its own port (port 0
//!   with `--port-base 0`), and no port is picked in advance that another process could take;
//! - the sidecars resolve names through `<data-dir>/mesh/registry.json`, written by the launcher
//!   once the instances are up: each instance's address as peers reach it (its sidecar's
//!   inbound listener with `--inbound`, else the instance itself), with the
//!   labels `app` and `version` that DestinationRule subsets select;
//! - each sidecar runs with its instance's labels (`--labels app=reviews,version=v2`), which a
//!   VirtualService's `match[].sourceLabels` compares with;
//! - the routing is the Istio YAML in `<data-dir>/mesh/config/`, changed with `sailkit apply`.
//!   It is kept from one start to the next, as a cluster keeps what was applied;
//! - the way in from outside is an ingress gateway, `istio-ingressgateway`: one more proxy,
//!   with no instance behind it, started with `--gateway bookinfo-gateway` on its own port
//!   (9088). It routes only with the VirtualServices bound to that Gateway, which
//!   `k8s/networking/bookinfo-gateway.yaml` defines; until that file is applied it answers 404,
//!   as Istio's does before the Gateway exists.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::services::ServiceName;

/// The mesh's folder in the data directory.
pub const MESH_DIR: &str = "mesh";
/// The Istio YAML in force, inside [`MESH_DIR`].
pub const CONFIG_DIR: &str = "config";
/// The workload registry, inside [`MESH_DIR`].
pub const REGISTRY_FILE: &str = "registry.json";
/// The port in peer names: Bookinfo's, as every Kubernetes Service of the app uses.
pub const SERVICE_PORT: u16 = 9080;
/// The ingress gateway's process name: Istio's.
pub const GATEWAY_WORKLOAD: &str = "istio-ingressgateway";
/// The Gateway resource it serves: Bookinfo's (`k8s/networking/bookinfo-gateway.yaml`).
pub const GATEWAY_NAME: &str = "bookinfo-gateway";
/// The port of that Gateway's server (Istio's ingress gateway pod listens on 8080). The gateway
/// listens on the stack's own port (9088) and stands for this one, as a port mapping would.
pub const GATEWAY_SERVER_PORT: u16 = 8080;

/// `<data_dir>/mesh/config`.
pub fn config_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(MESH_DIR).join(CONFIG_DIR)
}

/// `<data_dir>/mesh/registry.json`.
pub fn registry_path(data_dir: &Path) -> PathBuf {
    data_dir.join(MESH_DIR).join(REGISTRY_FILE)
}

/// One instance in the registry.
#[derive(Debug, Clone)]
pub struct Workload {
    pub service: ServiceName,
    pub version: String,
    /// Where its peers' sidecars send its requests: its own sidecar's inbound listener.
    pub addr: SocketAddr,
}

/// The registry JSON: every service with its instances, labelled `app` and `version`.
pub fn registry_json(workloads: &[Workload]) -> serde_json::Value {
    let mut services: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for w in workloads {
        services.entry(w.service.as_str()).or_default().push(json!({
            "address": w.addr.to_string(),
            "labels": {"app": w.service.as_str(), "version": w.version},
        }));
    }
    let services: Vec<_> = services
        .into_iter()
        .map(|(name, endpoints)| json!({"name": name, "endpoints": endpoints}))
        .collect();
    json!({ "services": services })
}

/// Writes the registry (to a temporary file renamed into place: the sidecars poll it).
pub fn write_registry(data_dir: &Path, workloads: &[Workload]) -> std::io::Result<()> {
    let path = registry_path(data_dir);
    let text =
        serde_json::to_vec_pretty(&registry_json(workloads)).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Prepares `<data_dir>/mesh/`: the config folder kept, a registry from an earlier run removed
/// (its addresses are gone; the sidecars wait until the new one is written).
pub fn prepare(data_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(config_dir(data_dir))?;
    match std::fs::remove_file(registry_path(data_dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The command line of an instance's sidecar, `sailkit proxy ...`, but for the listeners'
/// addresses (the sidecar's task adds them: see [`super::sidecar`]). The sidecar carries its
/// workload's labels, `app` and `version`, as Kubernetes gives them to a pod: a VirtualService's
/// `match[].sourceLabels` selects calls by who makes them.
pub fn sidecar_args(
    source: &Source,
    addr_file: &Path,
    instance: &str,
    service: ServiceName,
    version: &str,
) -> Vec<String> {
    let labels = format!("app={},version={version}", service.as_str());
    let mut args = proxy_args(source, addr_file, &labels);
    if let Source::ControlPlane(_) = source {
        args.extend([
            "--proxy-id".into(),
            instance.to_string(),
            "--service".into(),
            service.as_str().to_string(),
        ]);
    }
    args
}

/// Where the proxies of the stack get their routing and endpoints from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The files of the data directory: `mesh/config/` and `mesh/registry.json`.
    Files { data_dir: PathBuf },
    /// The control plane at this gRPC address (the default).
    ControlPlane(SocketAddr),
}

/// The command line of the ingress gateway, `sailkit proxy --gateway bookinfo-gateway ...`, but
/// for the listeners' addresses (see [`super::sidecar`]). It carries the labels Istio's ingress
/// gateway pods have (`istio=ingressgateway` is what Bookinfo's Gateway selects).
pub fn gateway_args(source: &Source, addr_file: &Path) -> Vec<String> {
    let labels = format!("app={GATEWAY_WORKLOAD},istio=ingressgateway");
    let mut args = proxy_args(source, addr_file, &labels);
    if let Source::ControlPlane(_) = source {
        // No service: no one calls the gateway through the mesh.
        args.extend([
            "--proxy-id".into(),
            GATEWAY_WORKLOAD.to_string(),
            "--service=".into(),
        ]);
    }
    args.splice(
        1..1,
        [
            "--gateway".to_string(),
            GATEWAY_NAME.to_string(),
            "--gateway-port".to_string(),
            GATEWAY_SERVER_PORT.to_string(),
        ],
    );
    args
}

/// `proxy` with the mesh's files, the address file and the workload's labels: what every proxy
/// of the stack is started with.
fn proxy_args(source: &Source, addr_file: &Path, labels: &str) -> Vec<String> {
    let path = |p: PathBuf| p.display().to_string();
    let mut args = vec!["proxy".to_string()];
    match source {
        Source::Files { data_dir } => args.extend([
            "--registry".into(),
            path(registry_path(data_dir)),
            "--config-dir".into(),
            path(config_dir(data_dir)),
        ]),
        Source::ControlPlane(grpc) => {
            args.extend(["--control-plane".into(), format!("http://{grpc}")]);
        }
    }
    args.extend([
        "--addr-file".into(),
        addr_file.display().to_string(),
        "--labels".into(),
        labels.to_string(),
    ]);
    args
}

/// Rewrites an instance's environment to call its peers by name through its sidecar:
/// `<SVC>_HOSTNAME=<svc>`, `<SVC>_SERVICE_PORT=9080`, `HTTP_PROXY` (both spellings, as HTTP
/// clients read either), and `NO_PROXY` emptied so no peer bypasses the sidecar.
pub fn through_sidecar(env: &mut Vec<(String, String)>, outbound: SocketAddr) {
    for service in ServiceName::ALL {
        let prefix = service.env_prefix();
        for (key, value) in env.iter_mut() {
            if *key == format!("{prefix}_HOSTNAME") {
                *value = service.as_str().to_string();
            } else if *key == format!("{prefix}_SERVICE_PORT") {
                *value = SERVICE_PORT.to_string();
            }
        }
    }
    let proxy = format!("http://{outbound}");
    for key in ["HTTP_PROXY", "http_proxy"] {
        env.push((key.to_string(), proxy.clone()));
    }
    for key in ["NO_PROXY", "no_proxy"] {
        env.push((key.to_string(), String::new()));
    }
}

/// The sidecar's addresses from its address file: `outbound=ADDR` and `admin=ADDR`, and
/// `inbound=ADDR` when it has an inbound listener.
pub fn read_sidecar_addrs(path: &Path) -> Option<(SocketAddr, SocketAddr, Option<SocketAddr>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let find = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((find("outbound")?, find("admin")?, find("inbound")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_labels_every_instance_with_app_and_version() {
        let addr = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let json = registry_json(&[
            Workload {
                service: ServiceName::Reviews,
                version: "v1".into(),
                addr: addr(1),
            },
            Workload {
                service: ServiceName::Reviews,
                version: "v2".into(),
                addr: addr(2),
            },
        ]);
        let reviews = &json["services"][0];
        assert_eq!(reviews["name"], "reviews");
        assert_eq!(reviews["endpoints"][1]["address"], "127.0.0.1:2");
        assert_eq!(reviews["endpoints"][1]["labels"]["version"], "v2");
        assert_eq!(reviews["endpoints"][1]["labels"]["app"], "reviews");
    }

    #[test]
    fn peers_are_named_and_reached_through_the_sidecar() {
        let mut env = vec![
            ("HOSTNAME".to_string(), "reviews-v2".to_string()),
            ("RATINGS_HOSTNAME".to_string(), "127.0.0.1".to_string()),
            ("RATINGS_SERVICE_PORT".to_string(), "9083".to_string()),
        ];
        through_sidecar(&mut env, SocketAddr::from(([127, 0, 0, 1], 7000)));
        let env: BTreeMap<_, _> = env.into_iter().collect();
        assert_eq!(env["HOSTNAME"], "reviews-v2", "the pod name stays");
        assert_eq!(env["RATINGS_HOSTNAME"], "ratings");
        assert_eq!(env["RATINGS_SERVICE_PORT"], "9080");
        assert_eq!(env["HTTP_PROXY"], "http://127.0.0.1:7000");
        assert_eq!(env["NO_PROXY"], "");
    }

    #[test]
    fn a_sidecar_carries_its_workloads_labels() {
        let files = Source::Files {
            data_dir: "/d".into(),
        };
        let args = sidecar_args(
            &files,
            Path::new("/d/run/x.addr"),
            "reviews-v2",
            ServiceName::Reviews,
            "v2",
        );
        let labels = args.iter().position(|a| a == "--labels").expect("--labels");
        assert_eq!(args[labels + 1], "app=reviews,version=v2");
        assert_eq!(args[0], "proxy");
        assert!(!args.iter().any(|a| a == "--control-plane"));
    }

    #[test]
    fn with_a_control_plane_a_sidecar_registers_as_its_instance() {
        let control = Source::ControlPlane("127.0.0.1:9089".parse().expect("addr"));
        let args = sidecar_args(
            &control,
            Path::new("/d/run/x.addr"),
            "reviews-v2",
            ServiceName::Reviews,
            "v2",
        );
        let after = |flag: &str| {
            let at = args.iter().position(|a| a == flag).expect(flag);
            args[at + 1].clone()
        };
        assert_eq!(after("--control-plane"), "http://127.0.0.1:9089");
        assert_eq!(after("--proxy-id"), "reviews-v2");
        assert_eq!(after("--service"), "reviews");
        assert!(
            !args
                .iter()
                .any(|a| a == "--config-dir" || a == "--registry")
        );
    }

    #[test]
    fn the_gateway_serves_bookinfos_gateway_with_istios_labels() {
        let files = Source::Files {
            data_dir: "/d".into(),
        };
        let args = gateway_args(&files, Path::new("/d/run/g.addr"));
        let after = |flag: &str| {
            let at = args.iter().position(|a| a == flag).expect(flag);
            args[at + 1].clone()
        };
        assert_eq!(args[0], "proxy");
        assert_eq!(after("--gateway"), "bookinfo-gateway");
        assert_eq!(after("--gateway-port"), "8080");
        assert_eq!(after("--config-dir"), "/d/mesh/config");
        assert_eq!(
            after("--labels"),
            "app=istio-ingressgateway,istio=ingressgateway"
        );
    }

    #[test]
    fn the_sidecar_address_file_has_two_or_three_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("x.addr");
        std::fs::write(&file, "outbound=127.0.0.1:1\nadmin=127.0.0.1:2\n").expect("write");
        let (outbound, admin, inbound) = read_sidecar_addrs(&file).expect("both");
        assert_eq!((outbound.port(), admin.port(), inbound), (1, 2, None));
        std::fs::write(
            &file,
            "outbound=127.0.0.1:1\nadmin=127.0.0.1:2\ninbound=127.0.0.1:3\n",
        )
        .expect("write");
        let (_, _, inbound) = read_sidecar_addrs(&file).expect("three");
        assert_eq!(inbound.map(|a| a.port()), Some(3));
    }
}
