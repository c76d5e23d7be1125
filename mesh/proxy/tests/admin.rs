//! The admin listener, and config reloads: readiness, last-good-config, diagnostics.

mod support;

use std::time::Duration;

use support::{Mesh, registry_json, scenario, upstream};

const REVIEWS: &str = "http://reviews:9080/reviews/0";

#[tokio::test]
async fn ready_waits_for_the_registry_and_requests_before_it_get_503() {
    let v1 = upstream("v1").await;
    let mesh = Mesh::start_unready(None, &[]).await;
    let (status, _) = mesh.admin_get("/ready").await;
    assert_eq!(status, 503);
    let (status, flags, _) = mesh.get(REVIEWS, None).await;
    assert_eq!((status, flags.as_str()), (503, "UH"));

    std::fs::write(
        &mesh.registry,
        registry_json(&[("reviews", vec![(v1.addr, "v1")])]),
    )
    .expect("write registry");
    mesh.wait_ready().await;
    let (status, _, body) = mesh.get(REVIEWS, None).await;
    assert_eq!((status, body.as_str()), (200, "v1"));
    let (_, stats) = mesh.admin_get("/stats").await;
    assert!(stats.contains("requests 2\n"), "{stats}");
    assert!(stats.contains("flag_UH 1\n"), "{stats}");
}

#[tokio::test]
async fn a_bad_file_keeps_the_last_good_config_and_config_dump_says_where() {
    let (v1, v2) = (upstream("v1").await, upstream("v2").await);
    let mesh = Mesh::start(
        &[("reviews", vec![(v1.addr, "v1"), (v2.addr, "v2")])],
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-all-v1.yaml",
                scenario("virtual-service-all-v1.yaml"),
            ),
        ],
    )
    .await;
    for _ in 0..4 {
        assert_eq!(mesh.get(REVIEWS, None).await.2, "v1");
    }

    // A typo: `wieght` is not a field. The whole set is rejected, the old table stays.
    let typo = scenario("virtual-service-reviews-50-v3.yaml").replace("weight: 50", "wieght: 50");
    mesh.write_config("virtual-service-reviews-50-v3.yaml", &typo);
    let dump = mesh
        .wait_for("/config_dump", |_, body| {
            body.contains("\"rejected\": true")
        })
        .await;
    let dump: serde_json::Value = serde_json::from_str(&dump).expect("config_dump is JSON");
    let diagnostics = dump["config"]["diagnostics"].to_string();
    let line = 1 + typo
        .lines()
        .position(|l| l.contains("wieght"))
        .expect("the typo is in the file");
    assert!(
        diagnostics.contains(&format!("virtual-service-reviews-50-v3.yaml:{line}:"))
            && diagnostics.contains("wieght"),
        "line {line}: {diagnostics}"
    );
    for _ in 0..4 {
        assert_eq!(mesh.get(REVIEWS, None).await.2, "v1", "old routing applies");
    }

    // Fixing the file applies the new set.
    mesh.write_config(
        "virtual-service-all-v1.yaml",
        &scenario("virtual-service-reviews-test-v2.yaml"),
    );
    std::fs::remove_file(mesh.config_dir.join("virtual-service-reviews-50-v3.yaml"))
        .expect("remove the bad file");
    mesh.wait_for("/config_dump", |_, body| {
        body.contains("\"rejected\": false")
    })
    .await;
    assert_eq!(mesh.get(REVIEWS, Some("jason")).await.2, "v2");
}

#[tokio::test]
async fn config_dump_lists_the_rules_and_the_registry() {
    let v1 = upstream("v1").await;
    let mesh = Mesh::start(
        &[("reviews", vec![(v1.addr, "v1")])],
        &[(
            "virtual-service-reviews-test-v2.yaml",
            scenario("virtual-service-reviews-test-v2.yaml"),
        )],
    )
    .await;
    let (status, body) = mesh.admin_get("/config_dump").await;
    assert_eq!(status, 200);
    let dump: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(dump["ready"], true);
    let vs = &dump["config"]["virtual_services"][0];
    assert_eq!(vs["name"], "reviews");
    assert_eq!(vs["rules"][0]["destinations"][0]["subset"], "v2");
    assert_eq!(
        dump["registry"]["services"][0]["endpoints"][0]["address"],
        v1.addr.to_string()
    );
    // No DestinationRule defines subset v2: Istio's answer is a 503 at request time.
    let (status, flags, _) = mesh.get(REVIEWS, Some("jason")).await;
    assert_eq!((status, flags.as_str()), (503, "NC"));
}

#[tokio::test]
async fn a_registry_change_is_picked_up_and_a_broken_one_is_ignored() {
    let (v1, v2) = (upstream("v1").await, upstream("v2").await);
    let mesh = Mesh::start(&[("reviews", vec![(v1.addr, "v1")])], &[]).await;
    assert_eq!(mesh.get(REVIEWS, None).await.2, "v1");

    std::fs::write(&mesh.registry, "{\"services\": [").expect("write");
    mesh.wait_for("/config_dump", |_, body| body.contains("registry.json:1:"))
        .await;
    assert_eq!(mesh.get(REVIEWS, None).await.2, "v1", "last good registry");

    std::fs::write(
        &mesh.registry,
        registry_json(&[("reviews", vec![(v2.addr, "v2")])]),
    )
    .expect("write");
    for _ in 0..200 {
        if mesh.get(REVIEWS, None).await.2 == "v2" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the new registry was never applied");
}
