//! The proxy with `--control-plane`: it registers with a (fake) control plane, routes with the
//! snapshots it receives, ACKs or NACKs them, keeps routing when the control plane goes away and
//! registers again when it comes back. Real servers on `127.0.0.1:0`, the proxy in-process.

#[path = "support/fake_control_plane.rs"]
mod fake_control_plane;
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;

use fake_control_plane::FakeControlPlane;
use mesh_api::v1::proxy_message::Kind;
use mesh_api::v1::{ConfigFile, Endpoint, Register, Service, Snapshot};
use serde_json::Value;
use support::{App, Mesh, scenario, upstream};
use tokio::net::TcpListener;

const REVIEWS: &str = "http://reviews:9080/reviews/0";

/// Start a sidecar for `productpage-v1` that takes its config from the control plane at `url`,
/// with an inbound listener in front of `app`. Not ready until a snapshot is applied.
async fn start_proxy(url: &str, app: SocketAddr) -> (Mesh, SocketAddr) {
    let (mesh, inbound) = start_proxy_for(url, App::At(app), true).await;
    (mesh, inbound.expect("an inbound listener"))
}

/// [`start_proxy`], the application given by `--app` or by `--app-addr-file` (in the proxy's
/// temporary folder, `mesh.dir`), with an inbound listener or none.
async fn start_proxy_for(url: &str, app: App, inbound: bool) -> (Mesh, Option<SocketAddr>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (app, app_addr_file) = match app {
        App::At(addr) => (Some(addr), None),
        App::File(name) => (None, Some(dir.path().join(name))),
    };
    let bind = || TcpListener::bind("127.0.0.1:0");
    let (outbound, admin) = (bind().await.expect("bind"), bind().await.expect("bind"));
    let inbound = if inbound {
        Some(bind().await.expect("bind"))
    } else {
        None
    };
    let address = |l: &TcpListener| l.local_addr().expect("address");
    let (outbound_addr, admin_addr) = (address(&outbound), address(&admin));
    let inbound_addr = inbound.as_ref().map(address);
    let settings = mesh_proxy::Settings {
        control_plane: Some(url.to_owned()),
        labels: vec![
            ("app".to_owned(), "productpage".to_owned()),
            ("version".to_owned(), "v1".to_owned()),
        ],
        inbound: inbound_addr,
        app,
        app_addr_file,
        ..support::settings(outbound_addr, admin_addr)
    };
    let listeners = mesh_proxy::Listeners {
        outbound,
        admin,
        inbound,
    };
    let shutdown = support::spawn(settings, listeners);
    let mesh = Mesh::attach(dir, outbound_addr, admin_addr, shutdown);
    (mesh, inbound_addr)
}

/// A snapshot named `version` with these config files and services (name, [(address,
/// version label)]).
fn snapshot(
    version: &str,
    files: &[(&str, String)],
    services: &[(&str, Vec<(SocketAddr, &str)>)],
) -> Snapshot {
    Snapshot {
        version: version.to_owned(),
        config: files
            .iter()
            .map(|(name, yaml)| ConfigFile {
                name: (*name).to_owned(),
                yaml: yaml.clone(),
            })
            .collect(),
        services: services
            .iter()
            .map(|(name, endpoints)| Service {
                name: (*name).to_owned(),
                endpoints: endpoints
                    .iter()
                    .map(|(address, label)| Endpoint {
                        address: address.to_string(),
                        labels: HashMap::from([
                            ("app".to_owned(), (*name).to_owned()),
                            ("version".to_owned(), (*label).to_owned()),
                        ]),
                        proxy_id: format!("{name}-{label}"),
                    })
                    .collect(),
            })
            .collect(),
        config_version: mesh_config::config_version(
            files.iter().map(|(name, yaml)| (*name, yaml.as_bytes())),
        ),
        ..Snapshot::default()
    }
}

/// The first Register received.
async fn registered(fake: &FakeControlPlane) -> Register {
    fake.wait_for("a Register", |kind| match kind {
        Kind::Register(register) => Some(register.clone()),
        _ => None,
    })
    .await
}

/// Wait for the ACK of `version`.
async fn acked(fake: &FakeControlPlane, version: &str) {
    fake.wait_for(&format!("the ACK of {version}"), |kind| match kind {
        Kind::Ack(ack) if ack.version == version => Some(()),
        _ => None,
    })
    .await;
}

/// Wait for the NACK of `version`, and return its error.
async fn nacked(fake: &FakeControlPlane, version: &str) -> String {
    fake.wait_for(&format!("the NACK of {version}"), |kind| match kind {
        Kind::Nack(nack) if nack.version == version => Some(nack.error.clone()),
        _ => None,
    })
    .await
}

/// `/config_dump` as JSON.
async fn config_dump(mesh: &Mesh) -> Value {
    let (status, body) = mesh.admin_get("/config_dump").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("config_dump is JSON")
}

#[tokio::test]
async fn before_any_snapshot_the_proxy_is_not_ready_and_says_why() {
    let fake = FakeControlPlane::start().await;
    let app = upstream("productpage").await;
    let (mesh, _) = start_proxy(&fake.url(), app.addr).await;
    registered(&fake).await;
    let (status, body) = mesh.admin_get("/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(&format!("waiting for the control plane at {}", fake.url())),
        "{body}"
    );
    let dump = config_dump(&mesh).await;
    assert_eq!(dump["ready"], false);
    assert_eq!(dump["source"]["control_plane"], fake.url());
    assert_eq!(dump["source"]["snapshot_version"], Value::Null);
}

#[tokio::test]
async fn the_proxy_registers_then_routes_with_the_snapshot_and_acks_it() {
    let fake = FakeControlPlane::start().await;
    let (app, reviews) = (upstream("productpage").await, upstream("reviews-v1").await);
    let (mesh, inbound) = start_proxy(&fake.url(), app.addr).await;

    let register = registered(&fake).await;
    assert_eq!(register.proxy_id, "productpage-v1");
    assert_eq!(register.service, "productpage");
    assert_eq!(register.workload, "productpage-v1", "from the labels");
    assert_eq!(register.namespace, "default");
    assert_eq!(
        register.labels.get("app").map(String::as_str),
        Some("productpage")
    );
    assert_eq!(
        register.labels.get("version").map(String::as_str),
        Some("v1")
    );
    // Peers reach this workload through its inbound listener.
    assert_eq!(register.address, inbound.to_string());

    let first = snapshot("s1", &[], &[("reviews", vec![(reviews.addr, "v1")])]);
    let config_version = first.config_version.clone();
    fake.push(first);
    acked(&fake, "s1").await;
    mesh.wait_ready().await;
    let (status, _, body) = mesh.get(REVIEWS, None).await;
    assert_eq!((status, body.as_str()), (200, "reviews-v1"));

    let dump = config_dump(&mesh).await;
    assert_eq!(dump["source"]["connected"], true);
    assert_eq!(dump["source"]["snapshot_version"], "s1");
    assert_eq!(dump["source"]["last_error"], Value::Null);
    // The version a sidecar reading the same files from a folder would show.
    assert_eq!(dump["config"]["version"], config_version);

    // The same snapshot again (as after a reconnect) is ACKed again, and changes nothing.
    fake.push(snapshot(
        "s1",
        &[],
        &[("reviews", vec![(reviews.addr, "v1")])],
    ));
    fake.wait_for("a second ACK of s1", |_| {
        let acks = fake
            .received()
            .iter()
            .filter(|k| matches!(k, Kind::Ack(a) if a.version == "s1"))
            .count();
        (acks == 2).then_some(())
    })
    .await;
    assert_eq!(mesh.get(REVIEWS, None).await.2, "reviews-v1");
}

#[tokio::test]
async fn the_proxy_registers_again_once_its_application_listens() {
    let fake = FakeControlPlane::start().await;
    let (mesh, inbound) = start_proxy_for(&fake.url(), App::File("app.addr"), true).await;
    // Known, but not reachable yet: no address.
    assert_eq!(registered(&fake).await.address, "");
    let app = upstream("productpage").await;
    std::fs::write(mesh.dir.path().join("app.addr"), app.addr.to_string()).expect("write");
    let again = fake
        .wait_for("a Register with an address", |kind| match kind {
            Kind::Register(register) if !register.address.is_empty() => Some(register.clone()),
            _ => None,
        })
        .await;
    assert_eq!(Some(again.address), inbound.map(|a| a.to_string()));
    assert_eq!(again.proxy_id, "productpage-v1");
}

#[tokio::test]
async fn without_an_inbound_listener_the_proxy_registers_the_application_itself() {
    let fake = FakeControlPlane::start().await;
    let (mesh, _) = start_proxy_for(&fake.url(), App::File("app.addr"), false).await;
    assert_eq!(registered(&fake).await.address, "");
    let app = upstream("productpage").await;
    std::fs::write(mesh.dir.path().join("app.addr"), app.addr.to_string()).expect("write");
    fake.wait_for(
        "a Register with the application's address",
        |kind| match kind {
            Kind::Register(register) if register.address == app.addr.to_string() => Some(()),
            _ => None,
        },
    )
    .await;
}

#[tokio::test]
async fn a_virtual_service_in_the_snapshot_routes_by_header_to_a_subset() {
    let fake = FakeControlPlane::start().await;
    let app = upstream("productpage").await;
    let (v1, v2) = (upstream("v1").await, upstream("v2").await);
    let (mesh, _) = start_proxy(&fake.url(), app.addr).await;
    fake.push(snapshot(
        "s1",
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-reviews-test-v2.yaml",
                scenario("virtual-service-reviews-test-v2.yaml"),
            ),
        ],
        &[("reviews", vec![(v1.addr, "v1"), (v2.addr, "v2")])],
    ));
    acked(&fake, "s1").await;
    mesh.wait_ready().await;
    for _ in 0..4 {
        assert_eq!(mesh.get(REVIEWS, Some("jason")).await.2, "v2");
        assert_eq!(mesh.get(REVIEWS, None).await.2, "v1");
    }
}

#[tokio::test]
async fn a_snapshot_that_does_not_load_is_nacked_with_file_and_line_and_routing_stays() {
    let fake = FakeControlPlane::start().await;
    let (app, v1) = (upstream("productpage").await, upstream("v1").await);
    let (mesh, _) = start_proxy(&fake.url(), app.addr).await;
    let services = [("reviews", vec![(v1.addr, "v1")])];
    fake.push(snapshot("s1", &[], &services));
    acked(&fake, "s1").await;

    let broken = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: [\n";
    fake.push(snapshot(
        "s2",
        &[("broken.yaml", broken.to_owned())],
        &services,
    ));
    let error = nacked(&fake, "s2").await;
    assert!(error.starts_with("broken.yaml:3:"), "{error}");
    assert!(error.contains(": error: "), "{error}");

    // The last good snapshot is in force.
    assert_eq!(mesh.get(REVIEWS, None).await.2, "v1");
    let dump = config_dump(&mesh).await;
    assert_eq!(dump["ready"], true);
    assert_eq!(dump["config"]["rejected"], true);
    assert_eq!(dump["source"]["snapshot_version"], "s1");
    let last_error = dump["source"]["last_error"].as_str().unwrap_or_default();
    assert!(last_error.contains("broken.yaml:"), "{dump:#}");

    // An endpoint that is not IP:PORT is refused too.
    fake.push(snapshot("s3", &[], &[]));
    acked(&fake, "s3").await;
    let mut bad = snapshot("s4", &[], &services);
    bad.services[0].endpoints[0].address = "reviews.local".to_owned();
    fake.push(bad);
    let error = nacked(&fake, "s4").await;
    assert!(error.contains("`reviews.local`"), "{error}");
    assert!(error.contains("not IP:PORT"), "{error}");
}

#[tokio::test]
async fn without_the_control_plane_the_proxy_keeps_routing_and_comes_back_when_it_does() {
    let fake = FakeControlPlane::start().await;
    let (app, v1) = (upstream("productpage").await, upstream("v1").await);
    let (mesh, _) = start_proxy(&fake.url(), app.addr).await;
    let first = snapshot("s1", &[], &[("reviews", vec![(v1.addr, "v1")])]);
    fake.push(first.clone());
    acked(&fake, "s1").await;
    mesh.wait_ready().await;

    let addr = fake.addr;
    fake.stop().await;
    mesh.wait_for("/config_dump", |_, body| {
        body.contains(r#""connected": false"#)
    })
    .await;
    let (status, _, body) = mesh.get(REVIEWS, None).await;
    assert_eq!((status, body.as_str()), (200, "v1"));
    assert_eq!(mesh.admin_get("/ready").await.0, 200);

    // The control plane restarts on the same port, with a new snapshot.
    let fake = FakeControlPlane::start_on(addr).await;
    let v2 = upstream("v2").await;
    fake.push(snapshot("s2", &[], &[("reviews", vec![(v2.addr, "v2")])]));
    let register = registered(&fake).await;
    assert_eq!(register.proxy_id, "productpage-v1");
    acked(&fake, "s2").await;
    assert_eq!(mesh.get(REVIEWS, None).await.2, "v2");
    let dump = config_dump(&mesh).await;
    assert_eq!(dump["source"]["connected"], true);
    assert_eq!(dump["source"]["snapshot_version"], "s2");
}
