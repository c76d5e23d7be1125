//! The config folder: refused files, and a burst of edits pushed once.

use std::time::Duration;

use crate::support::{Plane, Proxy, REVIEWS_V1, write};

/// The same VirtualService with a weight that is not a percentage (line 11).
const BAD_WEIGHT: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - route:
    - destination:
        host: ratings
      weight: 500
";

#[tokio::test]
async fn a_bad_file_is_refused_with_its_line_and_the_config_in_force_stays() {
    let plane = Plane::start(&[("reviews.yaml", REVIEWS_V1)], &[]).await;
    let (mut proxy, first) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;

    write(plane.dir.path(), "ratings.yaml", BAD_WEIGHT);
    // A bad edit of a good file keeps that file's last good content.
    write(
        plane.dir.path(),
        "reviews.yaml",
        &REVIEWS_V1.replace("hosts:", "hostz:"),
    );
    let dump = plane
        .config_dump_until(|dump| dump["refused"].as_array().is_some_and(|r| r.len() == 2))
        .await;
    assert_eq!(dump["refused"][0]["file"], "ratings.yaml");
    let diagnostic = dump["refused"][0]["diagnostics"][0].as_str().expect("text");
    assert!(diagnostic.starts_with("ratings.yaml:11:"), "{diagnostic}");
    assert_eq!(dump["refused"][1]["file"], "reviews.yaml");
    assert_eq!(dump["files"], serde_json::json!(["reviews.yaml"]));
    assert_eq!(dump["config_version"], first.config_version.as_str());
    assert_eq!(dump["version"], first.version.as_str());

    assert!(
        proxy
            .next_within(Duration::from_millis(1500))
            .await
            .is_none(),
        "nothing changed, nothing is pushed"
    );
    let metrics = plane.metrics().await;
    assert!(
        metrics.contains("sailkit_control_config_refused_files 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_burst_of_edits_within_the_debounce_is_one_push() {
    // 800 ms of quiet: the folder is polled every 500 ms, so the burst is seen at one or two
    // polls at most 500 ms apart, and both fall within one debounce.
    let plane = Plane::start(&[("reviews.yaml", REVIEWS_V1)], &["--debounce-ms", "800"]).await;
    let (mut proxy, _) = Proxy::connect(plane.grpc, "reviews-v1", "127.0.0.1:9001").await;
    // The push of this registration carries the version already sent: it is not sent again.
    assert!(
        proxy
            .next_within(Duration::from_millis(1500))
            .await
            .is_none()
    );

    let mut last = String::new();
    for edit in 1..=5 {
        last = format!("{REVIEWS_V1}# edit {edit}{}\n", " ".repeat(edit));
        write(plane.dir.path(), "reviews.yaml", &last);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pushed = proxy.next().await;
    assert_eq!(
        pushed.config_version,
        mesh_config::config_version([("reviews.yaml", last.as_bytes())])
    );
    assert!(
        proxy
            .next_within(Duration::from_millis(2500))
            .await
            .is_none(),
        "one push for the whole burst"
    );
}
