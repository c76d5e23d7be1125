//! Istio's standard metrics from two real sidecars on one (fake) control plane: a call from
//! productpage-v1's outbound side to reviews-v2's inbound side is reported by both, each with
//! the other's workload; a forged `x-sailkit-peer` names nobody and never reaches the
//! application; the duration histogram counts in the right buckets; a caller that hangs up is
//! `response_code="0"`; a fault's answer still names the destination service. Real servers on `127.0.0.1:0`, the proxies in-process.

#[path = "support/fake_control_plane.rs"]
#[allow(dead_code)] // the part of the fake this file needs: start, url, push
mod fake_control_plane;
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use fake_control_plane::FakeControlPlane;
use mesh_api::v1::{ConfigFile, Endpoint, Service, Snapshot, Workload};
use support::prometheus_text::{Sample, parse};
use support::{Mesh, Upstream};
use tokio::net::TcpListener;

const KEY: [u8; 32] = [42; 32];
/// reviews-v2's proxy id: one instance, named as a pod is.
const REVIEWS_POD: &str = "reviews-v2-7f9c.default";

/// The application behind reviews-v2's sidecar: it says whether a `x-sailkit-peer` reached it,
/// after 30 ms (`/slow`: 3 s).
async fn reviews_app() -> Upstream {
    let app = Router::new().fallback(|request: Request| async move {
        let slow = request.uri().path() == "/slow";
        tokio::time::sleep(Duration::from_millis(if slow { 3_000 } else { 30 })).await;
        let seen = request
            .headers()
            .get("x-sailkit-peer")
            .map_or("-".to_owned(), |v| format!("{v:?}"));
        format!("x-sailkit-peer={seen}")
    });
    support::serve(app).await
}

fn labels(app: &str, version: &str) -> HashMap<String, String> {
    HashMap::from([
        ("app".to_owned(), app.to_owned()),
        ("version".to_owned(), version.to_owned()),
    ])
}

fn workload(proxy_id: &str, name: &str, app: &str, version: &str) -> Workload {
    Workload {
        proxy_id: proxy_id.to_owned(),
        name: name.to_owned(),
        namespace: "default".to_owned(),
        service_account: format!("bookinfo-{app}"),
        labels: labels(app, version),
        cluster: "Kubernetes".to_owned(),
    }
}

/// The snapshot: reviews served by reviews-v2 behind its inbound listener, both workloads, the
/// key.
fn snapshot(reviews_inbound: SocketAddr) -> Snapshot {
    Snapshot {
        version: "m1".to_owned(),
        services: vec![Service {
            name: "reviews".to_owned(),
            endpoints: vec![Endpoint {
                address: reviews_inbound.to_string(),
                labels: labels("reviews", "v2"),
                proxy_id: REVIEWS_POD.to_owned(),
            }],
        }],
        workloads: vec![
            workload("productpage-v1", "productpage-v1", "productpage", "v1"),
            workload(REVIEWS_POD, "reviews-v2", "reviews", "v2"),
        ],
        peer_key: KEY.to_vec(),
        ..Snapshot::default()
    }
}

/// A sidecar on the fake control plane, labelled `app` and `version`, with an inbound listener
/// in front of `app_addr` when given.
async fn sidecar(
    fake: &FakeControlPlane,
    proxy_id: &str,
    app: (&str, &str),
    app_addr: Option<SocketAddr>,
) -> (Mesh, Option<SocketAddr>) {
    let bind = || TcpListener::bind("127.0.0.1:0");
    let (outbound, admin) = (bind().await.expect("bind"), bind().await.expect("bind"));
    let inbound = match app_addr {
        Some(_) => Some(bind().await.expect("bind")),
        None => None,
    };
    let address = |l: &TcpListener| l.local_addr().expect("address");
    let (outbound_addr, admin_addr) = (address(&outbound), address(&admin));
    let inbound_addr = inbound.as_ref().map(address);
    let settings = mesh_proxy::Settings {
        control_plane: Some(fake.url()),
        proxy_id: Some(proxy_id.to_owned()),
        labels: vec![
            ("app".to_owned(), app.0.to_owned()),
            ("version".to_owned(), app.1.to_owned()),
        ],
        inbound: inbound_addr,
        app: app_addr,
        ..support::settings(outbound_addr, admin_addr)
    };
    let listeners = mesh_proxy::Listeners {
        outbound,
        admin,
        inbound,
    };
    let shutdown = support::spawn(settings, listeners);
    let dir = tempfile::tempdir().expect("temp dir");
    (
        Mesh::attach(dir, outbound_addr, admin_addr, shutdown),
        inbound_addr,
    )
}

/// The two sidecars, ready, with reviews-v2's application and inbound address.
struct Pair {
    productpage: Mesh,
    reviews: Mesh,
    reviews_inbound: SocketAddr,
    _app: Upstream,
    _fake: FakeControlPlane,
}

async fn pair() -> Pair {
    let fake = FakeControlPlane::start().await;
    let app = reviews_app().await;
    let (reviews, inbound) = sidecar(&fake, REVIEWS_POD, ("reviews", "v2"), Some(app.addr)).await;
    let (productpage, _) = sidecar(&fake, "productpage-v1", ("productpage", "v1"), None).await;
    let reviews_inbound = inbound.expect("an inbound listener");
    fake.push(snapshot(reviews_inbound));
    productpage.wait_ready().await;
    reviews.wait_ready().await;
    Pair {
        productpage,
        reviews,
        reviews_inbound,
        _app: app,
        _fake: fake,
    }
}

/// The samples of `mesh`'s `/stats/prometheus`, once `done` holds for them (at most 10 s: a
/// request is counted when its response body ends).
async fn scrape(mesh: &Mesh, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let mut samples = Vec::new();
    for _ in 0..200 {
        let (status, text) = mesh.admin_get("/stats/prometheus").await;
        assert_eq!(status, 200);
        samples = parse(&text);
        if done(&samples) {
            return samples;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the metrics never got there: {samples:#?}");
}

/// The samples named `name` whose labels include every pair of `with`.
fn find<'a>(samples: &'a [Sample], name: &str, with: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name && with.iter().all(|(k, v)| s.label(k) == *v))
        .collect()
}

fn total(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    find(samples, name, with).iter().map(|s| s.value).sum()
}

#[tokio::test]
async fn both_sidecars_report_the_call_with_each_others_workload() {
    let pair = pair().await;
    let (status, _, body) = pair
        .productpage
        .get("http://reviews:9080/reviews/0", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, "x-sailkit-peer=-", "the header stops at the sidecar");

    let requests = "istio_requests_total";
    let source = scrape(&pair.productpage, |s| total(s, requests, &[]) >= 1.0).await;
    let reported = find(&source, requests, &[("reporter", "source")]);
    assert_eq!(reported.len(), 1, "{source:#?}");
    let expected = [
        ("source_workload", "productpage-v1"),
        ("source_workload_namespace", "default"),
        ("source_app", "productpage"),
        ("source_version", "v1"),
        ("source_canonical_service", "productpage"),
        ("source_canonical_revision", "v1"),
        ("source_cluster", "Kubernetes"),
        ("source_principal", "unknown"),
        ("destination_workload", "reviews-v2"),
        ("destination_workload_namespace", "default"),
        ("destination_app", "reviews"),
        ("destination_version", "v2"),
        ("destination_service", "reviews.default.svc.cluster.local"),
        ("destination_service_name", "reviews"),
        ("destination_service_namespace", "default"),
        ("destination_canonical_service", "reviews"),
        ("destination_canonical_revision", "v2"),
        ("destination_cluster", "Kubernetes"),
        ("destination_principal", "unknown"),
        ("request_protocol", "http"),
        ("response_code", "200"),
        ("grpc_response_status", ""),
        ("response_flags", "-"),
    ];
    for (key, value) in expected {
        assert_eq!(reported[0].label(key), value, "{key}: {:?}", reported[0]);
    }
    assert_eq!(reported[0].label("connection_security_policy"), "unknown");
    assert_eq!(reported[0].value, 1.0);

    let destination = scrape(&pair.reviews, |s| total(s, requests, &[]) >= 1.0).await;
    let reported = find(&destination, requests, &[("reporter", "destination")]);
    assert_eq!(reported.len(), 1, "{destination:#?}");
    for (key, value) in expected {
        assert_eq!(reported[0].label(key), value, "{key}: {:?}", reported[0]);
    }
    assert_eq!(reported[0].label("connection_security_policy"), "none");
}

#[tokio::test]
async fn a_forged_caller_is_unknown_and_its_header_never_reaches_the_application() {
    let pair = pair().await;
    let direct = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    // A name with a signature made up, and a name without one.
    for forged in [
        "productpage-v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "productpage-v1",
    ] {
        let response = direct
            .get(format!("http://{}/reviews/0", pair.reviews_inbound))
            .header("x-sailkit-peer", forged)
            .send()
            .await
            .expect("a call to the inbound side");
        assert_eq!(response.status(), 200);
        let body = response.text().await.expect("body");
        assert_eq!(body, "x-sailkit-peer=-", "{forged}");
    }
    let requests = "istio_requests_total";
    let samples = scrape(&pair.reviews, |s| total(s, requests, &[]) >= 2.0).await;
    let unknown = [
        ("reporter", "destination"),
        ("source_workload", "unknown"),
        ("source_app", "unknown"),
        ("source_canonical_revision", "latest"),
        ("destination_workload", "reviews-v2"),
    ];
    assert_eq!(total(&samples, requests, &unknown), 2.0, "{samples:#?}");
    assert_eq!(
        total(&samples, requests, &[("source_workload", "productpage-v1")]),
        0.0
    );
}

#[tokio::test]
async fn the_duration_histogram_counts_each_request_in_its_buckets() {
    let pair = pair().await;
    for _ in 0..3 {
        let (status, _, _) = pair
            .productpage
            .get("http://reviews:9080/reviews/0", None)
            .await;
        assert_eq!(status, 200);
    }
    let name = "istio_request_duration_milliseconds";
    let count = format!("{name}_count");
    let samples = scrape(&pair.reviews, |s| total(s, &count, &[]) >= 3.0).await;
    let bucket = |le: &str| total(&samples, &format!("{name}_bucket"), &[("le", le)]);
    // The application takes 30 ms: never within 25 ms, always within 60 s.
    assert_eq!(bucket("25"), 0.0, "{samples:#?}");
    assert_eq!(bucket("60000"), 3.0);
    assert_eq!(bucket("+Inf"), 3.0);
    let sum = total(&samples, &format!("{name}_sum"), &[]);
    assert!(sum >= 90.0, "{sum}");
    // Buckets are cumulative: each holds at least what the one before holds.
    let buckets = find(&samples, &format!("{name}_bucket"), &[]);
    for pair in buckets.windows(2) {
        if pair[0].label("le") != "+Inf" {
            assert!(pair[0].value <= pair[1].value, "{pair:#?}");
        }
    }
    assert_eq!(total(&samples, "istio_requests_total", &[]), 3.0);
    for bytes in ["istio_request_bytes_count", "istio_response_bytes_count"] {
        assert_eq!(total(&samples, bytes, &[]), 3.0, "{bytes}");
    }
    // `x-sailkit-peer=-`, 16 bytes, three times.
    assert_eq!(total(&samples, "istio_response_bytes_sum", &[]), 48.0);
}

#[tokio::test]
async fn a_caller_that_hangs_up_is_response_code_0() {
    let pair = pair().await;
    let impatient = reqwest::Client::builder()
        .proxy(
            reqwest::Proxy::http(format!("http://{}", pair.productpage.outbound))
                .expect("proxy url"),
        )
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let gave_up = impatient.get("http://reviews:9080/slow").send().await;
    assert!(gave_up.is_err(), "the client should have timed out");
    let requests = "istio_requests_total";
    let dropped = [
        ("reporter", "source"),
        ("response_code", "0"),
        ("response_flags", "DC"),
        ("destination_workload", "reviews-v2"),
    ];
    let samples = scrape(&pair.productpage, |s| total(s, requests, &dropped) >= 1.0).await;
    assert_eq!(total(&samples, requests, &dropped), 1.0);
}

#[tokio::test]
async fn an_injected_fault_names_the_service_but_no_workload() {
    let fake = FakeControlPlane::start().await;
    let app = reviews_app().await;
    let (reviews, inbound) = sidecar(&fake, REVIEWS_POD, ("reviews", "v2"), Some(app.addr)).await;
    let (productpage, _) = sidecar(&fake, "productpage-v1", ("productpage", "v1"), None).await;
    let abort = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\n\
                 spec:\n  hosts: [reviews]\n  http:\n  - fault:\n      abort:\n        percentage: {value: 100}\n\
                 \x20       httpStatus: 503\n    route:\n    - destination: {host: reviews}\n";
    fake.push(Snapshot {
        config: vec![ConfigFile {
            name: "abort.yaml".to_owned(),
            yaml: abort.to_owned(),
        }],
        ..snapshot(inbound.expect("an inbound listener"))
    });
    productpage.wait_ready().await;
    reviews.wait_ready().await;
    let (status, _, _) = productpage.get("http://reviews:9080/reviews/0", None).await;
    assert_eq!(status, 503);
    let requests = "istio_requests_total";
    let aborted = [
        ("reporter", "source"),
        ("response_code", "503"),
        ("response_flags", "FI"),
    ];
    let samples = scrape(&productpage, |s| total(s, requests, &aborted) >= 1.0).await;
    let reported = find(&samples, requests, &aborted);
    assert_eq!(reported.len(), 1, "{samples:#?}");
    // No instance was chosen, but the request was for reviews, and is counted against it.
    for (key, value) in [
        ("destination_workload", "unknown"),
        ("destination_service", "reviews.default.svc.cluster.local"),
        ("destination_service_name", "reviews"),
        ("destination_service_namespace", "default"),
    ] {
        assert_eq!(reported[0].label(key), value, "{key}: {:?}", reported[0]);
    }
}
