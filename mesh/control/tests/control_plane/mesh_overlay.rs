//! `k8s/overlays/mesh` on a fake cluster: the rendered manifests' Services, pods and
//! EndpointSlices, and two of k8s/networking's Istio files, served by the fake API server to a
//! control plane started with the args of the overlay's own control-plane Deployment. It must
//! see the workloads the local stack runs, where their sidecars register, and route as the
//! files say.

use std::collections::{BTreeMap, BTreeSet};

use mesh_api::v1::Snapshot;
use mesh_config::{RequestView, RouteTable};

use crate::fake_api::FakeApi;
use crate::manifests::{self, Cluster, args, flag};
use crate::support::{Plane, open, register};

const NAMESPACE: &str = "bookinfo";

/// The (app, version) of each instance `sailkit up` runs: cli/src/up/plan.rs's `services()`.
/// (Written out here: the CLI depends on mesh-control, so its tests cannot reach the CLI.)
const LOCAL_STACK: [(&str, &str); 8] = [
    ("banner", "v1"),
    ("details", "v1"),
    ("productpage", "v1"),
    ("ratings", "v1"),
    ("ratings", "v2"),
    ("reviews", "v1"),
    ("reviews", "v2"),
    ("reviews", "v3"),
];

/// The (app, version) pairs of `workloads` are the local stack's.
fn assert_local_stack<'a>(workloads: impl Iterator<Item = (&'a String, &'a String)>, whose: &str) {
    let workloads: BTreeSet<(&str, &str)> = workloads
        .map(|(app, version)| (app.as_str(), version.as_str()))
        .collect();
    assert_eq!(workloads, BTreeSet::from(LOCAL_STACK), "{whose} workloads");
}

/// A sidecar as its pod's manifest makes it register.
struct Sidecar {
    proxy_id: String,
    service: String,
    address: String,
    labels: BTreeMap<String, String>,
}

fn sidecars(cluster: &Cluster) -> Vec<Sidecar> {
    let with_sidecar = cluster.pods.iter().map(|(_, pod)| pod).filter(|pod| {
        let mut containers = pod["spec"]["containers"].as_array().into_iter().flatten();
        containers.any(|c| c["name"] == "sailkit-proxy")
    });
    with_sidecar
        .map(|pod| {
            let args = args(pod, "sailkit-proxy");
            Sidecar {
                proxy_id: flag(&args, "--proxy-id").to_owned(),
                service: flag(&args, "--service").to_owned(),
                address: flag(&args, "--advertise-address").to_owned(),
                labels: manifests::labels(flag(&args, "--labels")),
            }
        })
        .collect()
}

/// The overlay's control-plane Deployment's args, less those the test sets itself.
fn control_plane_flags(cluster: &Cluster) -> Vec<String> {
    let (_, pod) = cluster
        .pods
        .iter()
        .find(|(workload, _)| manifests::name(workload) == "sailkit-control")
        .expect("the control plane's Deployment");
    let args = args(pod, "sailkit-control");
    assert!(args.contains(&"--kubernetes".to_owned()), "{args:?}");
    let mut flags: Vec<String> = args
        .into_iter()
        .filter(|arg| arg != "--kubernetes")
        .filter(|arg| !arg.starts_with("--grpc=") && !arg.starts_with("--admin="))
        .collect();
    // A short debounce, as in kubernetes.rs: the test waits for pushes.
    flags.push("--debounce-ms=20".to_owned());
    flags
}

/// The addresses of the reviews endpoints in the subset that a request for reviews with
/// `headers` is routed to, as a proxy would pick them.
fn routed_to(table: &RouteTable, snapshot: &Snapshot, headers: &[(&str, &str)]) -> Vec<String> {
    let request = RequestView {
        host: "reviews",
        port: 9080,
        method: "GET",
        path: "/reviews/0",
        query: "",
        headers: &headers,
        source_labels: &BTreeMap::new(),
        gateway: None,
    };
    let rule = table.route(&request).expect("a route for reviews").rule;
    let destination = rule.choose(0.0).expect("a destination");
    let subset = destination.subset.as_deref().expect("a subset");
    let selects = table
        .subset_labels(&destination.host, subset)
        .expect("the subset is defined");
    let reviews = snapshot.services.iter().filter(|s| s.name == "reviews");
    reviews
        .flat_map(|s| &s.endpoints)
        .filter(|e| selects.iter().all(|(k, v)| e.labels.get(k) == Some(v)))
        .map(|e| e.address.clone())
        .collect()
}

#[tokio::test]
async fn the_mesh_overlay_on_a_cluster_gives_the_local_stacks_workloads_and_routes() {
    let rendered = manifests::render("k8s/overlays/mesh");
    let cluster = Cluster::running(&rendered);
    let sidecars = sidecars(&cluster);
    let workloads = sidecars.iter().map(|s| &s.labels);
    assert_local_stack(
        workloads.map(|l| (&l["app"], &l["version"])),
        "the manifests'",
    );

    let api = FakeApi::start().await;
    manifests::serve(&api, &cluster.objects());
    for file in [
        "destination-rule-all.yaml",
        "virtual-service-reviews-test-v2.yaml",
    ] {
        manifests::serve(&api, &manifests::networking(file, NAMESPACE));
    }
    let flags = control_plane_flags(&cluster);
    assert!(
        flags.contains(&format!("--watch-namespace={NAMESPACE}")),
        "{flags:?}"
    );
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let plane = Plane::start_kubernetes(api.client(), &flags).await;

    // productpage's sidecar connects, as its pod's manifest has it register.
    let productpage = sidecars.iter().find(|s| s.service == "productpage");
    let productpage = productpage.expect("a productpage sidecar");
    let registration = register(
        &productpage.proxy_id,
        &productpage.service,
        &productpage.address,
        &productpage.labels["version"],
    );
    let mut proxy = open(plane.grpc, registration).await.expect("registered");
    let snapshot = proxy.next().await;

    // Each service has one endpoint per pod, where its sidecar registers, with its labels: the
    // EndpointSlices (the Services' targetPort) and the sidecars agree.
    for sidecar in &sidecars {
        let service = snapshot.services.iter().find(|s| s.name == sidecar.service);
        let service = service.unwrap_or_else(|| panic!("{} in the snapshot", sidecar.service));
        let pods = sidecars.iter().filter(|s| s.service == sidecar.service);
        assert_eq!(service.endpoints.len(), pods.count(), "{service:?}");
        let endpoint = service
            .endpoints
            .iter()
            .find(|e| e.address == sidecar.address);
        let endpoint = endpoint.unwrap_or_else(|| panic!("{} in {service:?}", sidecar.address));
        let labels: BTreeMap<String, String> = endpoint.labels.clone().into_iter().collect();
        assert_eq!(labels, sidecar.labels, "{}", sidecar.proxy_id);
    }
    let meshed = snapshot
        .services
        .iter()
        .filter(|s| sidecars.iter().any(|c| c.service == s.name));
    let derived = meshed.flat_map(|s| &s.endpoints).map(|e| &e.labels);
    assert_local_stack(
        derived.map(|l| (&l["app"], &l["version"])),
        "the control plane's",
    );

    // The routes in force, as the proxy compiles them: jason to reviews v2, others to v1.
    let files: Vec<&str> = snapshot.config.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        files,
        [
            "DestinationRule bookinfo/details",
            "DestinationRule bookinfo/productpage",
            "DestinationRule bookinfo/ratings",
            "DestinationRule bookinfo/reviews",
            "VirtualService bookinfo/reviews",
        ]
    );
    let mut resources = Vec::new();
    for file in &snapshot.config {
        let loaded = mesh_config::load_str(&file.name, &file.yaml);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        resources.extend(loaded.resources);
    }
    let table = mesh_config::compile_in(&resources, NAMESPACE);
    let address_of = |version: &str| {
        let reviews = sidecars.iter().filter(|s| s.service == "reviews");
        let mut found = reviews.filter(|s| s.labels["version"] == version);
        vec![found.next().expect("a reviews pod").address.clone()]
    };
    let jason = routed_to(&table, &snapshot, &[("end-user", "jason")]);
    assert_eq!(jason, address_of("v2"));
    assert_eq!(routed_to(&table, &snapshot, &[]), address_of("v1"));
}
