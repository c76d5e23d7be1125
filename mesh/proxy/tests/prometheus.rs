//! `GET /stats/prometheus`: the admin port's counters in Prometheus' text format, scraped from a
//! real proxy after real requests.

mod support;

use std::collections::BTreeMap;

use support::{Mesh, scenario, upstream};

const REVIEWS: &str = "http://reviews:9080/reviews/0";

/// One sample line: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parse the text format strictly enough that a malformed line fails the test: every sample
/// needs a valid name, `key="value"` labels, a number, and a `# TYPE` line for its family
/// before it.
fn parse(text: &str) -> Vec<Sample> {
    let valid_name = |name: &str| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut typed = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(valid_name(name), "{line}");
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = value.parse().expect("a numeric value");
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels end with }");
                let labels = labels
                    .split(',')
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').expect("key=value");
                        assert!(valid_name(key), "{line}");
                        let value = value
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .expect("a quoted label value");
                        (key.to_owned(), value.to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        assert!(valid_name(name), "{line}");
        assert!(typed.iter().any(|t| t == name), "no # TYPE before {line}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

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
