//! End to end: `sailkit proxy-config` shows what a proxy of the running stack holds, and
//! `sailkit analyze` checks the config in force against the stack's workloads. After
//! destination-rule-all.yaml, jason's route to reviews v2 and bookinfo-gateway.yaml: reviews-v1's
//! sidecar holds the reviews rules, a cluster per reviews subset and each instance as an
//! endpoint of its subset; the gateway holds the routes of bookinfo-gateway.yaml.

mod support;

use std::process::Output;

use support::{Stack, apply, run, scenario};

fn sailkit(stack: &Stack, args: &[&str]) -> Output {
    let data_dir = stack.data_dir().display().to_string();
    let mut all = args.to_vec();
    all.extend(["--data-dir", &data_dir]);
    run(&all)
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The row of `table` whose cells include all of `cells`.
fn row<'t>(table: &'t str, cells: &[&str]) -> Option<&'t str> {
    table.lines().find(|line| {
        cells
            .iter()
            .all(|cell| line.split("  ").any(|c| c.trim() == *cell))
    })
}

#[test]
fn proxy_config_and_analyze_against_a_running_stack() {
    let stack = Stack::start();
    apply(
        &stack,
        &[
            "destination-rule-all.yaml",
            "virtual-service-reviews-jason-v2-v3.yaml",
            "bookinfo-gateway.yaml",
        ],
    );

    // Routes: reviews' two rules, in order, on the sidecar's outbound listener.
    let routes = stdout(&sailkit(&stack, &["proxy-config", "routes", "reviews-v1"]));
    assert!(routes.starts_with("NAME "), "{routes}");
    let jason = routes
        .lines()
        .position(|l| l.contains("headers end-user exact jason"));
    let rest = routes.lines().position(|l| l.contains("  *  "));
    assert!(jason.is_some() && jason < rest, "{routes}");
    assert!(
        row(
            &routes,
            &[
                "outbound",
                "reviews.default",
                "headers end-user exact jason",
                "reviews.default|v2",
                "default/reviews"
            ]
        )
        .is_some(),
        "{routes}"
    );

    // Clusters: the service and each subset destination-rule-all.yaml gives it.
    let clusters = stdout(&sailkit(
        &stack,
        &["proxy-config", "clusters", "reviews-v1"],
    ));
    let fqdn = "reviews.default.svc.cluster.local";
    for subset in ["-", "v1", "v2", "v3"] {
        let line = row(
            &clusters,
            &[fqdn, subset, "outbound", "EDS", "default/reviews"],
        );
        assert!(line.is_some(), "no cluster {fqdn} {subset}:\n{clusters}");
    }

    // Endpoints: each reviews instance in its subset, with its labels, not ejected.
    let json = stdout(&sailkit(
        &stack,
        &["proxy-config", "endpoints", "reviews-v1", "-o", "json"],
    ));
    let endpoints: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    for version in ["v1", "v2", "v3"] {
        let cluster = format!("{fqdn}|{version}");
        let in_subset: Vec<&serde_json::Value> = endpoints
            .as_array()
            .expect("endpoints")
            .iter()
            .filter(|e| e["cluster"] == cluster.as_str())
            .collect();
        assert_eq!(in_subset.len(), 1, "{cluster}: {endpoints:#}");
        assert_eq!(in_subset[0]["labels"]["version"], version);
        assert_eq!(in_subset[0]["outlier_check"], "OK");
    }
    let table = stdout(&sailkit(
        &stack,
        &["proxy-config", "endpoints", "reviews-v1"],
    ));
    assert!(
        row(
            &table,
            &[
                "HEALTHY",
                "OK",
                &format!("{fqdn}|v2"),
                "app=reviews,version=v2"
            ]
        )
        .is_some(),
        "{table}"
    );

    // The gateway: the routes of bookinfo-gateway.yaml on its listener.
    let gateway = stdout(&sailkit(
        &stack,
        &["proxy-config", "routes", "istio-ingressgateway"],
    ));
    assert!(
        gateway.lines().any(|l| l.starts_with("http.")
            && l.contains("uri exact /productpage")
            && l.contains("productpage.default")
            && l.contains("default/bookinfo")),
        "{gateway}"
    );

    // An unknown workload: the error names the proxies there are.
    let unknown = sailkit(&stack, &["proxy-config", "routes", "reviews-v9"]);
    assert_eq!(unknown.status.code(), Some(1));
    let error = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        error.contains("no proxy \"reviews-v9\"")
            && error.contains("reviews-v2")
            && error.contains("istio-ingressgateway"),
        "{error}"
    );

    // analyze, by default the config in force, against the stack's workloads: the subsets of
    // destination-rule-all.yaml that no instance here has (details v2, ratings v2-mysql and
    // v2-mysql-vm), warnings only.
    let analyzed = sailkit(&stack, &["analyze"]);
    let shown = stdout(&analyzed);
    for subset in ["v2-mysql", "v2-mysql-vm"] {
        assert!(
            shown.contains("Warning [IST0127] (DestinationRule default/ratings")
                && shown.contains(&format!("subset \"{subset}\" of ratings")),
            "{shown}"
        );
    }
    assert!(!shown.contains("subset \"v3\" of reviews"), "{shown}");
    assert!(
        shown.contains("workloads from the control plane at http://127.0.0.1:"),
        "{shown}"
    );

    // A file with a typo in a host, analyzed with the config in force.
    let files = tempfile::tempdir().expect("tmp");
    let typo = files.path().join("typo.yaml");
    std::fs::write(
        &typo,
        std::fs::read_to_string(scenario("virtual-service-reviews-v3.yaml"))
            .expect("scenario")
            .replace("host: reviews", "host: reviewz")
            .replace("name: reviews", "name: reviews-typo"),
    )
    .expect("write");
    let config = stack.data_dir().join("mesh").join("config");
    let with_typo = sailkit(
        &stack,
        &[
            "analyze",
            &config.display().to_string(),
            &typo.display().to_string(),
        ],
    );
    let shown = stdout(&with_typo);
    assert!(
        shown.contains("[IST0101] (VirtualService default/reviews-typo")
            && shown.contains("no service has host reviewz.default.svc.cluster.local"),
        "{shown}"
    );
}
