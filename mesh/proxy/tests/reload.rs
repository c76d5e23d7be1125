//! A large config is built off the request path: while the proxy loads and compiles a new
//! table of 10,000 regex routes, requests keep being answered with the table in force, and
//! the new one takes over whole once built.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Mesh, stat, upstream};

/// Subsets v1 and v2 of `reviews`.
const SUBSETS: &str = "\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
    - name: v1
      labels:
        version: v1
    - name: v2
      labels:
        version: v2
";

/// A VirtualService for `reviews` with `rules` regex routes to `subset`, then a catch-all
/// to `subset`: about 170 bytes a route, 1.7 MB at 10,000.
fn routes(rules: usize, subset: &str) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n    - reviews\n  http:\n",
    );
    for i in 0..rules {
        text.push_str(&format!(
            "    - name: route-{i}\n      match:\n        - uri:\n            regex: \"/routes/{i}/[a-z0-9-]+\"\n      route:\n        - destination:\n            host: reviews\n            subset: {subset}\n"
        ));
    }
    text.push_str(&format!(
        "    - route:\n        - destination:\n            host: reviews\n            subset: {subset}\n"
    ));
    text
}

/// `config.loading` and `config.version` of `/config_dump`.
async fn config_state(mesh: &Mesh) -> (bool, String) {
    let (status, body) = mesh.admin_get("/config_dump").await;
    assert_eq!(status, 200, "{body}");
    let dump: Value = serde_json::from_str(&body).expect("config_dump is JSON");
    let config = &dump["config"];
    (
        config["loading"].as_bool().expect("config.loading"),
        config["version"]
            .as_str()
            .expect("config.version")
            .to_owned(),
    )
}

#[tokio::test]
async fn requests_are_answered_while_ten_thousand_routes_are_built() {
    let (v1, v2) = (upstream("v1").await, upstream("v2").await);
    let services = [("reviews", vec![(v1.addr, "v1"), (v2.addr, "v2")])];
    let mesh = Mesh::start(
        &services,
        &[
            ("dr.yaml", SUBSETS.to_owned()),
            ("routes.yaml", routes(1, "v1")),
        ],
    )
    .await;
    let (loading, first_version) = config_state(&mesh).await;
    assert!(!loading);
    let (status, _, body) = mesh.get("http://reviews/routes/0/a", None).await;
    assert_eq!((status, body.as_str()), (200, "v1"));

    mesh.write_config("routes.yaml", &routes(10_000, "v2"));

    // Until the new table is in force: each time the proxy says it is loading, a request goes
    // through it, and if the proxy still says it is loading afterwards, that request was
    // answered during the load. With the table built on the thread that serves requests, the
    // proxy could answer nothing, not even /config_dump, until the load was over.
    let mut answered_during_load = 0;
    for _ in 0..1200 {
        let (loading, version) = config_state(&mesh).await;
        if version != first_version {
            break;
        }
        if loading {
            let (status, _, body) = mesh.get("http://reviews/routes/0/a", None).await;
            assert_eq!(
                (status, body.as_str()),
                (200, "v1"),
                "the table in force answers"
            );
            if config_state(&mesh).await.0 {
                answered_during_load += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        answered_during_load > 0,
        "no request was answered while the new table was being built"
    );

    // The new table, whole: its last rule routes to v2.
    let stats = mesh
        .wait_for("/stats", |_, stats| stat(stats, "config_reloads") >= 1)
        .await;
    assert_eq!(stat(&stats, "config_reloads"), 1);
    let (status, _, body) = mesh.get("http://reviews/routes/9999/last", None).await;
    assert_eq!((status, body.as_str()), (200, "v2"));
    let (loading, version) = config_state(&mesh).await;
    assert!(!loading);
    assert_ne!(version, first_version);
}
