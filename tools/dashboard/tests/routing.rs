//! The routing in force on a workload's page: a control plane in the test process (mesh-control,
//! on port 0) is given Bookinfo's files through its Config API, as `sailkit apply` gives them;
//! each workload's page then shows the VirtualServices and DestinationRules for its service,
//! with their own YAML. A control plane that does not answer leaves a warning, not an error page.

mod support;

use std::path::Path;

use clap::Parser as _;
use mesh_api::v1::config_client::ConfigClient;
use mesh_api::v1::{ApplyRequest, ConfigFile};
use sailkit_dashboard::{Config, MetricsSource, start};
use tokio_util::sync::CancellationToken;

use support::get as http_get;

/// A file of `k8s/networking`, as `sailkit apply` sends it.
fn networking_file(name: &str) -> ConfigFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../k8s/networking")
        .join(name);
    ConfigFile {
        name: name.to_owned(),
        yaml: std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    }
}

/// `(kind, name)` of each resource shown in the page's routing section.
fn resources_shown(page: &str) -> Vec<(String, String)> {
    let section = page
        .split(r#"<div id="routing""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no routing section: {page}"));
    section
        .split(r#"<div class="resource" data-kind=""#)
        .skip(1)
        .map(|rest| {
            let kind = rest.split('"').next().unwrap_or_default().to_owned();
            let name = rest
                .split(r#"data-name=""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_owned();
            (kind, name)
        })
        .collect()
}

#[tokio::test]
async fn a_workload_page_shows_the_routing_in_force_for_its_service() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let config_dir = folder.path().display().to_string();
    let settings = mesh_control::Settings::try_parse_from([
        "mesh-control",
        "--grpc",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        "--config-dir",
        &config_dir,
    ])
    .expect("valid flags");
    let bound = mesh_control::bind(settings).await.expect("binds");
    let grpc = format!("http://{}", bound.grpc_addr());
    let stop = CancellationToken::new();
    let serving = tokio::spawn(bound.serve(stop.clone()));

    let mut client = ConfigClient::connect(grpc.clone()).await.expect("connects");
    let applied = client
        .apply(ApplyRequest {
            files: vec![
                networking_file("destination-rule-all.yaml"),
                networking_file("virtual-service-reviews-test-v2.yaml"),
            ],
        })
        .await
        .expect("Apply answers")
        .into_inner();
    assert!(applied.applied, "{applied:?}");

    let mut config = Config::local(MetricsSource::scrape(vec![]));
    config.control_plane = Some(grpc);
    let dashboard = start(config).await.expect("starts");

    let (status, page) = http_get(dashboard.http_addr, "/workloads/default/reviews-v2").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"data-host="reviews.default.svc.cluster.local""#),
        "{page}"
    );
    assert_eq!(
        resources_shown(&page),
        [
            ("DestinationRule".to_owned(), "reviews".to_owned()),
            ("VirtualService".to_owned(), "reviews".to_owned()),
        ]
    );
    assert!(
        page.contains(r#"data-file="virtual-service-reviews-test-v2.yaml""#),
        "{page}"
    );
    // Each resource with its own document of a file that has several, escaped.
    assert!(
        page.contains("end-user"),
        "the VirtualService's YAML: {page}"
    );
    assert!(
        page.contains("  name: reviews\nspec:\n  host: reviews"),
        "the DestinationRule's document: {page}"
    );
    assert!(!page.contains("host: ratings"), "{page}");

    let (status, page) = http_get(dashboard.http_addr, "/workloads/default/ratings-v1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        resources_shown(&page),
        [("DestinationRule".to_owned(), "ratings".to_owned())]
    );

    // The control plane gone: the page still answers, with a warning.
    stop.cancel();
    let _ = serving.await;
    let (status, page) = http_get(dashboard.http_addr, "/workloads/default/reviews-v2").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"id="routing-warning""#), "{page}");
    assert!(resources_shown(&page).is_empty());
    dashboard.stop().await;
}

#[tokio::test]
async fn without_a_control_plane_the_page_says_how_to_see_the_routing() {
    let dashboard = start(Config::local(MetricsSource::scrape(vec![])))
        .await
        .expect("starts");
    let (status, page) = http_get(dashboard.http_addr, "/workloads/default/reviews-v2").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"id="routing-hint""#), "{page}");
    assert!(page.contains("sailkit apply --list"), "{page}");
    dashboard.stop().await;
}
