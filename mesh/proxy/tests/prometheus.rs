//! `GET /stats/prometheus`: the admin port's counters in Prometheus' text format, scraped from a
//! real proxy after real requests (Istio's labels and histograms with two sidecars:
//! `istio_metrics.rs`).

mod support;

use support::prometheus_text::{Sample, parse};
use support::{Mesh, scenario, upstream};

const REVIEWS: &str = "http://reviews:9080/reviews/0";

/// The value of `istio_requests_total` for one code and flag set (0 when absent).
fn requests(samples: &[Sample], code: u16, flags: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == "istio_requests_total")
        .filter(|s| s.labels["response_code"] == code.to_string())
        .filter(|s| s.labels["response_flags"] == flags)
        .map(|s| s.value)
        .sum()
}

#[tokio::test]
async fn prometheus_counts_requests_by_code_and_flags() {
    let v1 = upstream("v1").await;
    let mesh = Mesh::start(
        &[("reviews", vec![(v1.addr, "v1")])],
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
    )
    .await;
    for _ in 0..3 {
        let (status, flags, body) = mesh.get(REVIEWS, None).await;
        assert_eq!((status, flags.as_str(), body.as_str()), (200, "", "v1"));
    }
    // jason goes to v2, which has no instance: 503 with the flags the proxy chose.
    let (status, jason_flags, _) = mesh.get(REVIEWS, Some("jason")).await;
    assert_eq!(status, 503);
    assert!(jason_flags.contains("UH"), "{jason_flags}");

    // Counting happens when a response body ends: poll until all four are in.
    let url = format!("http://{}/stats/prometheus", mesh.admin);
    let mut samples = Vec::new();
    for _ in 0..200 {
        let response = mesh.direct.get(&url).send().await.expect("scrape");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ASCII content type")
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        samples = parse(&response.text().await.expect("body"));
        let total: f64 = samples
            .iter()
            .filter(|s| s.name == "istio_requests_total")
            .map(|s| s.value)
            .sum();
        if total >= 4.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(requests(&samples, 200, "-"), 3.0, "{samples:#?}");
    assert_eq!(requests(&samples, 503, &jason_flags), 1.0, "{samples:#?}");
    // From a registry file: the destination is named by its labels; no control plane, so no
    // cluster is known.
    let ok = samples
        .iter()
        .find(|s| s.name == "istio_requests_total" && s.label("response_code") == "200")
        .expect("the 200 series");
    for (key, value) in [
        ("reporter", "source"),
        ("destination_workload", "reviews-v1"),
        ("destination_version", "v1"),
        ("destination_service", "reviews.default.svc.cluster.local"),
        ("destination_cluster", "unknown"),
        ("source_cluster", "Kubernetes"),
    ] {
        assert_eq!(ok.label(key), value, "{key}: {ok:?}");
    }
    let total: f64 = samples
        .iter()
        .filter(|s| s.name == "istio_requests_total")
        .map(|s| s.value)
        .sum();
    assert_eq!(total, 4.0, "nothing else was counted: {samples:#?}");
    let uh = samples
        .iter()
        .find(|s| s.name == "sailkit_response_flags_total" && s.labels["response_flags"] == "UH")
        .expect("a UH series");
    assert_eq!(uh.value, 1.0);
    for name in [
        "envoy_cluster_upstream_rq_pending_overflow",
        "envoy_cluster_upstream_rq_retry_overflow",
        "envoy_cluster_outlier_detection_ejections_total",
        "envoy_cluster_outlier_detection_ejections_active",
    ] {
        let sample = samples
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} missing: {samples:#?}"));
        assert_eq!(sample.value, 0.0, "{name}");
    }
    for name in [
        "sailkit_config_reloads_total",
        "sailkit_registry_reloads_total",
        "envoy_cluster_upstream_rq_retry",
    ] {
        assert!(samples.iter().any(|s| s.name == name), "{name} missing");
    }

    // The plain `/stats` page is unchanged, and agrees.
    let (status, stats) = mesh.admin_get("/stats").await;
    assert_eq!(status, 200);
    assert_eq!(support::stat(&stats, "requests"), 4);
    assert_eq!(support::stat(&stats, "responses_2xx"), 3);
    assert_eq!(support::stat(&stats, "flag_UH"), 1);
}
