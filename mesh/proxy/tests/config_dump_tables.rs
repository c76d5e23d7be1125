//! `/config_dump`'s `routes`, `clusters` and `endpoints`: the rules this proxy's listener holds,
//! each service and subset it can send to with the policy in force there, and each endpoint with
//! its outlier state, as `sailkit proxy-config` shows them.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Mesh, ratings_dr, ratings_vs, scenario, upstream, upstream_with};

async fn dump(mesh: &Mesh) -> Value {
    serde_json::from_str(&mesh.admin_get("/config_dump").await.1).expect("config_dump is JSON")
}

#[tokio::test]
async fn routes_and_subset_clusters_after_the_destination_rules() {
    let (v1, v2, v3) = (
        upstream("v1").await,
        upstream("v2").await,
        upstream("v3").await,
    );
    let mesh = Mesh::start(
        &[(
            "reviews",
            vec![(v1.addr, "v1"), (v2.addr, "v2"), (v3.addr, "v3")],
        )],
        &[
            ("dr.yaml", scenario("destination-rule-all.yaml")),
            (
                "vs.yaml",
                scenario("virtual-service-reviews-jason-v2-v3.yaml"),
            ),
        ],
    )
    .await;
    let dump = dump(&mesh).await;

    let routes = dump["routes"].as_array().expect("routes");
    let shown: Vec<(String, String, String)> = routes
        .iter()
        .map(|r| {
            (
                r["listener"].as_str().unwrap_or_default().to_owned(),
                r["match"].to_string(),
                r["destinations"][0]["subset"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "outbound".to_owned(),
                r#"["headers end-user exact jason"]"#.to_owned(),
                r#""v2""#.to_owned()
            ),
            ("outbound".to_owned(), "[]".to_owned(), r#""v3""#.to_owned()),
        ]
    );
    assert_eq!(routes[0]["virtual_service"], "default/reviews");

    let clusters: Vec<&str> = dump["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let fqdn = "reviews.default.svc.cluster.local";
    assert_eq!(
        clusters,
        [
            fqdn.to_owned(),
            format!("{fqdn}|v1"),
            format!("{fqdn}|v2"),
            format!("{fqdn}|v3")
        ]
    );
    let v2_cluster = &dump["clusters"][2];
    assert_eq!(v2_cluster["destination_rule"], "default/reviews");
    assert_eq!(v2_cluster["endpoints"], 1);
    assert_eq!(v2_cluster["policy"]["load_balancer"]["type"], "ROUND_ROBIN");

    // Every endpoint once for the service, once for its subset.
    let endpoints = dump["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 6);
    let in_v2: Vec<&Value> = endpoints
        .iter()
        .filter(|e| e["cluster"] == format!("{fqdn}|v2"))
        .collect();
    assert_eq!(in_v2.len(), 1);
    assert_eq!(in_v2[0]["address"], v2.addr.to_string());
    assert_eq!(in_v2[0]["labels"]["version"], "v2");
    assert_eq!(in_v2[0]["outlier_check"], "OK");
}

#[tokio::test]
async fn an_ejected_endpoint_fails_its_outlier_check_and_the_policy_is_shown() {
    let good = upstream("ratings-v1").await;
    let bad = upstream_with("broken", 503, Duration::ZERO).await;
    let vs = ratings_vs("      retries:\n        attempts: 0");
    let dr = ratings_dr(
        "    loadBalancer:\n      simple: LEAST_REQUEST\n    connectionPool:\n      tcp:\n        maxConnections: 3\n    outlierDetection:\n      consecutive5xxErrors: 1\n      interval: 1s\n      baseEjectionTime: 30s\n      maxEjectionPercent: 100",
    );
    let mesh = Mesh::start(
        &[("ratings", vec![(bad.addr, "v1"), (good.addr, "v1")])],
        &[("vs.yaml", vs), ("dr.yaml", dr)],
    )
    .await;
    for _ in 0..50 {
        if bad.hits() > 0 {
            break;
        }
        mesh.get("http://ratings:9080/ratings/0", None).await;
    }
    assert_eq!(bad.hits(), 1, "one 503 ejects the broken endpoint");
    let dump = dump(&mesh).await;
    let policy = &dump["clusters"][0]["policy"];
    assert_eq!(policy["load_balancer"]["type"], "LEAST_REQUEST");
    assert_eq!(policy["connection_pool"]["max_connections"], 3);
    assert_eq!(policy["outlier_detection"]["consecutive_5xx_errors"], 1);
    assert_eq!(policy["outlier_detection"]["base_ejection_time_ms"], 30_000);
    let check = |addr: std::net::SocketAddr| {
        dump["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["address"] == addr.to_string())
            .map(|e| e["outlier_check"].clone())
    };
    assert_eq!(check(bad.addr), Some(Value::from("FAILED")), "{dump:#}");
    assert_eq!(check(good.addr), Some(Value::from("OK")));
}
