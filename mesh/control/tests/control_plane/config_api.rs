//! The Config API over real gRPC: `sailkit apply` and `sailkit delete` as the control plane
//! answers them. A refused change names file:line:col and changes nothing; a resource replaces
//! the one of its kind and name; a delete takes it out, and a second delete is NOT_FOUND.

use mesh_api::v1::config_client::ConfigClient;
use mesh_api::v1::file_change::Action;
use mesh_api::v1::{
    ApplyRequest, ChangeResponse, ConfigFile, DeleteRequest, ListRequest, ListResponse, ResourceRef,
};
use tonic::transport::Channel;

use crate::support::{Plane, Proxy, REVIEWS_V1};

async fn client(plane: &Plane) -> ConfigClient<Channel> {
    ConfigClient::connect(format!("http://{}", plane.grpc))
        .await
        .expect("connects")
}

async fn apply(plane: &Plane, files: &[(&str, &str)]) -> ChangeResponse {
    let files = files
        .iter()
        .map(|(name, yaml)| ConfigFile {
            name: (*name).to_owned(),
            yaml: (*yaml).to_owned(),
        })
        .collect();
    client(plane)
        .await
        .apply(ApplyRequest { files })
        .await
        .expect("Apply answers")
        .into_inner()
}

async fn list(plane: &Plane) -> ListResponse {
    client(plane)
        .await
        .list(ListRequest {})
        .await
        .expect("List answers")
        .into_inner()
}

fn reviews_vs() -> ResourceRef {
    ResourceRef {
        kind: "VirtualService".into(),
        namespace: String::new(),
        name: "reviews".into(),
    }
}

#[tokio::test]
async fn a_refused_file_names_its_line_and_changes_nothing() {
    let plane = Plane::start(&[("reviews.yaml", REVIEWS_V1)], &[]).await;
    let before = list(&plane).await;
    let broken = REVIEWS_V1.replace("host: reviews", "host: reviews\n      weight: 500");
    let refused = apply(&plane, &[("k8s/ratings.yaml", &broken)]).await;
    assert!(!refused.applied, "{refused:?}");
    assert!(refused.changes.is_empty());
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|d| d.starts_with("k8s/ratings.yaml:11:7: error: ")),
        "{:?}",
        refused.diagnostics
    );
    assert_eq!(refused.config_version, before.config_version);
    assert_eq!(list(&plane).await, before);
    let names: Vec<_> = std::fs::read_dir(plane.dir.path())
        .expect("folder")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(names, ["reviews.yaml"]);
}

#[tokio::test]
async fn a_resource_replaces_the_one_of_its_kind_and_name_at_once() {
    let plane = Plane::start(&[("reviews.yaml", REVIEWS_V1)], &[]).await;
    let (mut proxy, first) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    let mirrored = format!("{REVIEWS_V1}# the same route, from another file\n");
    let applied = apply(&plane, &[("elsewhere/other.yaml", &mirrored)]).await;
    assert!(applied.applied, "{applied:?}");
    assert!(applied.hosts_checked, "a workload of reviews is registered");
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let changes: Vec<(Action, &str)> = applied
        .changes
        .iter()
        .map(|c| (c.action(), c.file.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (Action::Written, "elsewhere/other.yaml"),
            (Action::Removed, "reviews.yaml")
        ]
    );
    assert_ne!(applied.config_version, first.config_version);
    // In force in the control plane when the answer comes: no wait for the folder's poll.
    let now = list(&plane).await;
    assert_eq!(now.config_version, applied.config_version);
    let listed: Vec<(&str, &str, &str)> = now
        .resources
        .iter()
        .map(|r| (r.kind.as_str(), r.name.as_str(), r.file.as_str()))
        .collect();
    assert_eq!(listed, [("VirtualService", "reviews", "other.yaml")]);
    assert_eq!(now.store, plane.dir.path().display().to_string());
    // And pushed to the proxy.
    let pushed = proxy.next().await;
    assert_eq!(pushed.config_version, applied.config_version);
}

#[tokio::test]
async fn a_route_to_a_host_no_service_has_is_warned_about() {
    let plane = Plane::start(&[], &[]).await;
    let typo = REVIEWS_V1.replace("host: reviews", "host: reviewz");
    let unchecked = apply(&plane, &[("reviews.yaml", &typo)]).await;
    assert!(
        unchecked.applied && !unchecked.hosts_checked,
        "{unchecked:?}"
    );
    let (_proxy, _) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    let warned = apply(&plane, &[("reviews.yaml", &typo)]).await;
    assert!(warned.applied && warned.hosts_checked, "{warned:?}");
    assert_eq!(warned.diagnostics.len(), 1, "{:?}", warned.diagnostics);
    assert!(
        warned.diagnostics[0].starts_with(
            "reviews.yaml:10:9: warning: spec.http[0].route[0].destination.host: no service has \
             host reviewz.default.svc.cluster.local"
        ),
        "{:?}",
        warned.diagnostics
    );
}

#[tokio::test]
async fn a_deleted_resource_is_gone_and_a_second_delete_is_not_found() {
    let plane = Plane::start(&[("reviews.yaml", REVIEWS_V1)], &[]).await;
    let mut config = client(&plane).await;
    let deleted = config
        .delete(DeleteRequest {
            resources: vec![reviews_vs()],
            files: Vec::new(),
        })
        .await
        .expect("Delete answers")
        .into_inner();
    assert!(deleted.applied, "{deleted:?}");
    assert_eq!(deleted.changes[0].action(), Action::Removed);
    assert_eq!(deleted.changes[0].resources, ["VirtualService reviews"]);
    assert_eq!(deleted.config_version, mesh_config::config_version([]));
    assert!(list(&plane).await.resources.is_empty());

    let again = config
        .delete(DeleteRequest {
            resources: vec![reviews_vs()],
            files: Vec::new(),
        })
        .await
        .expect_err("not found");
    assert_eq!(again.code(), tonic::Code::NotFound);
    assert_eq!(
        again.message(),
        "not in force: VirtualService default/reviews"
    );

    let unknown = config
        .delete(DeleteRequest {
            resources: vec![ResourceRef {
                kind: "Sidecar".into(),
                ..reviews_vs()
            }],
            files: Vec::new(),
        })
        .await
        .expect_err("an unknown kind");
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn concurrent_changes_are_made_one_at_a_time() {
    let plane = Plane::start(&[], &[]).await;
    // Eight applies at once, each defining the same VirtualService in a file of its own. One at
    // a time, each replaces the one before: one file is left, and the set holds together.
    let applies = (0..8).map(|n| {
        let plane = &plane;
        async move {
            let name = format!("reviews-{n}.yaml");
            apply(plane, &[(&name, REVIEWS_V1)]).await
        }
    });
    for applied in futures::future::join_all(applies).await {
        assert!(applied.applied, "{applied:?}");
    }
    let names: Vec<_> = std::fs::read_dir(plane.dir.path())
        .expect("folder")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let now = list(&plane).await;
    assert_eq!(now.resources.len(), 1, "{now:?}");
    let dump = plane.get_json("/config_dump").await;
    assert_eq!(dump["refused"], serde_json::json!([]), "{dump:#}");
}

#[tokio::test]
async fn without_a_config_folder_a_change_is_a_failed_precondition() {
    use clap::Parser as _;

    let settings = mesh_control::Settings::try_parse_from([
        "mesh-control",
        "--grpc",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
    ])
    .expect("valid flags");
    let bound = mesh_control::bind(settings).await.expect("binds");
    let grpc = bound.grpc_addr();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(bound.serve(shutdown.clone()));
    let mut config = ConfigClient::connect(format!("http://{grpc}"))
        .await
        .expect("connects");
    let refused = config
        .apply(ApplyRequest {
            files: vec![ConfigFile {
                name: "reviews.yaml".into(),
                yaml: REVIEWS_V1.into(),
            }],
        })
        .await
        .expect_err("nowhere to keep it");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(refused.message().contains("--config-dir"), "{refused:?}");
    // Listing still answers: nothing is in force.
    let listed = config.list(ListRequest {}).await.expect("List answers");
    assert!(listed.into_inner().resources.is_empty());
    shutdown.cancel();
    serving.await.expect("joined").expect("stopped cleanly");
}
