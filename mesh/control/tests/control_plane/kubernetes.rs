//! `--kubernetes`: the config and the workloads from a (fake) API server, through kube-rs, to a
//! proxy's stream.

use mesh_api::v1::Snapshot;
use serde_json::{Value, json};

use crate::fake_api::FakeApi;
use crate::support::{Plane, Proxy, endpoint_ids};

const VIRTUAL_SERVICES: &str = "/apis/networking.istio.io/v1/virtualservices";
const DESTINATION_RULES: &str = "/apis/networking.istio.io/v1/destinationrules";
const SERVICE_ENTRIES: &str = "/apis/networking.istio.io/v1/serviceentries";
const SERVICES: &str = "/api/v1/services";
const SLICES: &str = "/apis/discovery.k8s.io/v1/endpointslices";
const PODS: &str = "/api/v1/pods";

/// A short debounce: the tests wait for pushes.
const FLAGS: &[&str] = &["--debounce-ms", "20"];

fn virtual_service(name: &str, subset: &str, weight: u32) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": name, "namespace": "default", "uid": "1"},
        "spec": {"hosts": [name], "http": [{"route": [
            {"destination": {"host": name, "subset": subset}, "weight": weight}]}]},
    })
}

fn destination_rule() -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": "default"},
        "spec": {"host": "reviews", "subsets": [
            {"name": "v1", "labels": {"version": "v1"}},
            {"name": "v2", "labels": {"version": "v2"}}]},
    })
}

fn names(snapshot: &Snapshot) -> Vec<&str> {
    snapshot.config.iter().map(|f| f.name.as_str()).collect()
}

/// The text of `name` in the snapshot; it must load without error, as the proxy loads it.
fn text<'a>(snapshot: &'a Snapshot, name: &str) -> &'a str {
    let file = snapshot
        .config
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} in {:?}", names(snapshot)));
    let loaded = mesh_config::load_str(&file.name, &file.yaml);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    &file.yaml
}

#[tokio::test]
async fn custom_resources_listed_then_changed_through_the_watch_reach_a_proxy() {
    let api = FakeApi::start().await;
    api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v1", 100));
    api.apply(DESTINATION_RULES, destination_rule());
    let plane = Plane::start_kubernetes(api.client(), FLAGS).await;
    let (mut proxy, first) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    assert_eq!(
        names(&first),
        [
            "DestinationRule default/reviews",
            "VirtualService default/reviews"
        ]
    );
    assert!(text(&first, "VirtualService default/reviews").contains(r#""subset": "v1""#));

    api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v2", 100));
    let changed = proxy.next().await;
    assert!(text(&changed, "VirtualService default/reviews").contains(r#""subset": "v2""#));

    api.delete(DESTINATION_RULES, "default", "reviews");
    let deleted = proxy.next().await;
    assert_eq!(names(&deleted), ["VirtualService default/reviews"]);
}

#[tokio::test]
async fn a_broken_watch_resumes_from_the_last_resource_version_and_a_gone_one_relists() {
    let api = FakeApi::start().await;
    api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v1", 100));
    let plane = Plane::start_kubernetes(api.client(), FLAGS).await;
    let (mut proxy, _) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    let last = api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v2", 100));
    proxy.next().await;

    // The connection drops: the watch is opened again from the last resourceVersion seen.
    api.break_watches();
    let resumed = format!("resourceVersion={last}");
    let watches_from_last = || {
        api.requests()
            .iter()
            .filter(|r| r.starts_with(VIRTUAL_SERVICES) && r.contains("watch=true"))
            .filter(|r| r.split('&').any(|pair| pair.ends_with(&resumed)))
            .count()
    };
    let deadline = tokio::time::Instant::now() + crate::support::PATIENCE;
    while watches_from_last() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:#?}",
            api.requests()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v3", 100));
    let after_resume = proxy.next().await;
    assert!(text(&after_resume, "VirtualService default/reviews").contains(r#""subset": "v3""#));

    // The history is compacted while the watch is down: resuming gets 410 Gone, and only a new
    // list can show the change made meanwhile.
    api.change_unwatched(VIRTUAL_SERVICES, virtual_service("reviews", "v4", 100));
    let relisted = proxy.next().await;
    assert!(text(&relisted, "VirtualService default/reviews").contains(r#""subset": "v4""#));
    let lists = api
        .requests()
        .iter()
        .filter(|r| r.starts_with(VIRTUAL_SERVICES) && !r.contains("watch=true"))
        .count();
    assert_eq!(lists, 2, "{:#?}", api.requests());
}

#[tokio::test]
async fn a_bad_virtual_service_is_refused_by_name_and_the_rest_stays_in_force() {
    let api = FakeApi::start().await;
    api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v1", 100));
    let plane = Plane::start_kubernetes(api.client(), FLAGS).await;
    let before = plane.get_json("/config_dump").await;

    api.apply(VIRTUAL_SERVICES, virtual_service("ratings", "v1", 500));
    let mut broken = virtual_service("reviews", "v2", 100);
    broken["spec"]["hostz"] = broken["spec"]["hosts"].take();
    api.apply(VIRTUAL_SERVICES, broken);
    let dump = plane
        .config_dump_until(|dump| dump["refused"].as_array().is_some_and(|r| r.len() == 2))
        .await;
    assert_eq!(dump["refused"][0]["file"], "VirtualService default/ratings");
    let diagnostic = dump["refused"][0]["diagnostics"][0].as_str().expect("text");
    assert!(
        diagnostic.starts_with("VirtualService default/ratings:") && diagnostic.contains("weight"),
        "{diagnostic}"
    );
    assert_eq!(dump["refused"][1]["file"], "VirtualService default/reviews");
    // The last good version of reviews stays, and nothing else changed.
    assert_eq!(dump["files"], json!(["VirtualService default/reviews"]));
    assert_eq!(dump["config_version"], before["config_version"]);

    api.apply(VIRTUAL_SERVICES, virtual_service("ratings", "v1", 100));
    let fixed = plane
        .config_dump_until(|dump| dump["files"].as_array().is_some_and(|f| f.len() == 2))
        .await;
    assert_eq!(fixed["refused"].as_array().map(Vec::len), Some(1));
}

fn pod(name: &str, version: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
        "labels": {"app": "reviews", "version": version}}})
}

fn slice_endpoint(ip: &str, pod: &str, ready: bool) -> Value {
    json!({"addresses": [ip], "conditions": {"ready": ready},
           "targetRef": {"kind": "Pod", "name": pod, "namespace": "default"}})
}

fn slice(endpoints: Vec<Value>) -> Value {
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": "reviews-abcde", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "reviews"}},
        "ports": [{"name": "grpc", "port": 5001}, {"name": "http", "port": 9080}],
        "endpoints": endpoints})
}

#[tokio::test]
async fn endpoint_slices_give_endpoints_with_their_pods_labels_and_a_deleted_pod_leaves() {
    let api = FakeApi::start().await;
    api.apply(
        SERVICES,
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "reviews", "namespace": "default"},
            "spec": {"ports": [{"name": "grpc", "port": 5000}, {"name": "http", "port": 9080}]}}),
    );
    api.apply(PODS, pod("reviews-v1-a", "v1"));
    api.apply(PODS, pod("reviews-v2-b", "v2"));
    api.apply(
        SLICES,
        slice(vec![
            slice_endpoint("10.1.0.1", "reviews-v1-a", true),
            slice_endpoint("10.1.0.2", "reviews-v1-c", false),
            slice_endpoint("10.1.0.3", "reviews-v2-b", true),
        ]),
    );
    let plane = Plane::start_kubernetes(api.client(), FLAGS).await;
    // reviews-v2's proxy registers too, at its pod's address: one endpoint, the registration's.
    let (mut proxy, first) = Proxy::connect(plane.grpc, "reviews-v2", "10.1.0.3:9080").await;
    assert_eq!(
        endpoint_ids(&first, "reviews"),
        ["reviews-v1-a.default", "reviews-v2"]
    );
    let from_slice = &first.services[0].endpoints[0];
    assert_eq!(from_slice.address, "10.1.0.1:9080", "the port named http");
    assert_eq!(
        from_slice.labels.get("version").map(String::as_str),
        Some("v1")
    );
    assert_eq!(
        from_slice.labels.get("app").map(String::as_str),
        Some("reviews")
    );

    api.apply(
        SLICES,
        slice(vec![slice_endpoint("10.1.0.3", "reviews-v2-b", true)]),
    );
    api.delete(PODS, "default", "reviews-v1-a");
    let mut after = proxy.next().await;
    // The two changes may come as one push or two.
    while endpoint_ids(&after, "reviews") != ["reviews-v2"] {
        after = proxy.next().await;
    }
}

#[tokio::test]
async fn with_watch_namespace_only_that_namespace_is_asked_for_and_seen() {
    let api = FakeApi::start().await;
    api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v1", 100));
    let mut elsewhere = virtual_service("ratings", "v1", 100);
    elsewhere["metadata"]["namespace"] = json!("other");
    api.apply(VIRTUAL_SERVICES, elsewhere);
    let flags = [FLAGS, &["--watch-namespace", "default"]].concat();
    let plane = Plane::start_kubernetes(api.client(), &flags).await;

    let dump = plane.get_json("/config_dump").await;
    assert_eq!(dump["files"], json!(["VirtualService default/reviews"]));
    let requests = api.requests();
    assert!(
        requests.iter().all(|r| r.contains("/namespaces/default/")),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn a_kind_not_served_counts_as_empty_until_its_crd_comes() {
    let api = FakeApi::start().await;
    api.not_served(SERVICE_ENTRIES, true);
    api.apply(VIRTUAL_SERVICES, virtual_service("reviews", "v1", 100));
    let plane = Plane::start_kubernetes(api.client(), FLAGS).await;
    let dump = plane.get_json("/config_dump").await;
    assert_eq!(dump["files"], json!(["VirtualService default/reviews"]));

    // The CRD is installed, with an object: the watcher's retry lists it.
    api.not_served(SERVICE_ENTRIES, false);
    api.apply(
        SERVICE_ENTRIES,
        json!({"metadata": {"name": "httpbin", "namespace": "default"},
            "spec": {"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                     "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}}),
    );
    plane
        .config_dump_until(|dump| {
            dump["files"]
                == json!([
                    "ServiceEntry default/httpbin",
                    "VirtualService default/reviews"
                ])
        })
        .await;
}
