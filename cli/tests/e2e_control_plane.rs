//! End to end: the mesh's control plane in `sailkit up`. It starts first, every sidecar and
//! the gateway connect to it, register their workloads and take their routing from it; a
//! config change reaches every proxy (seen on the page's stars), `sailkit proxy-status` lists
//! every proxy SYNCED, and a control plane killed under load is restarted with no failed request.

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{
    IN_FORCE_TIMEOUT, Stack, apply, page, ratings_on, run, signal, until, until_all_synced,
};

#[tokio::test]
async fn the_proxies_take_their_config_from_the_control_plane() {
    let stack = Stack::start();
    let control = stack
        .state
        .control_plane
        .clone()
        .unwrap_or_else(|| panic!("stack.json has a control plane:\n{}", stack.output()));
    assert!(
        stack.output().contains("sailkit-control"),
        "the table shows it:\n{}",
        stack.output()
    );
    // No registry file: the sidecars registered their instances themselves.
    assert!(!stack.data_dir().join("mesh").join("registry.json").exists());

    // Every proxy is connected and in sync, each sidecar with its instance's address.
    let status = until_all_synced(&stack);
    let ids: Vec<&str> = status["proxies"]
        .as_array()
        .expect("proxies")
        .iter()
        .filter_map(|p| p["proxy_id"].as_str())
        .collect();
    for id in [
        "productpage-v1",
        "reviews-v2",
        "ratings-v1",
        "istio-ingressgateway",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }

    // With no routing, the reviews versions take turns: v2's black stars and v3's red ones
    // both show (v1 shows none).
    for colour in ["black", "red"] {
        until(&stack, None, &format!("{colour} stars"), |p| {
            ratings_on(p).iter().any(|(_, c)| c == colour)
        })
        .await;
    }

    // An apply (through the control plane's Config API) reaches every proxy: all to v1.
    apply(
        &stack,
        &["destination-rule-all.yaml", "virtual-service-all-v1.yaml"],
    );
    until(&stack, None, "no stars (reviews v1)", |p| {
        ratings_on(p).is_empty() && p.contains("Reviews served by: reviews-v1")
    })
    .await;
    for _ in 0..6 {
        let page = page(&stack, None).await;
        assert!(ratings_on(&page).is_empty(), "v1 only after the change");
    }
    until_all_synced(&stack);

    // The control plane's own admin port says the same.
    let proxies: serde_json::Value = support::http()
        .get(format!("{}/proxies", control.admin))
        .send()
        .await
        .expect("admin answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        proxies["proxies"].as_array().map(Vec::len),
        Some(9),
        "{proxies:#}"
    );

    // On SIGTERM it stops by itself, within the launcher's grace: it is never killed.
    let mut stack = stack;
    let exit = stack.terminate();
    assert!(exit.success(), "{exit}\n{}", stack.output());
    assert!(
        !stack.output().contains("did not stop in time"),
        "{}",
        stack.output()
    );
}

#[tokio::test]
async fn a_control_plane_killed_under_load_fails_no_request() {
    let stack = Stack::start();
    let control = stack.state.control_plane.clone().expect("a control plane");
    until_all_synced(&stack);

    // Load on the front door while the control plane is killed and restarted: a steady 40
    // pages a second, which leaves the other test of this file (running at the same time on
    // two cores) its share of the machine.
    let url = stack.state.app_url.clone();
    let load = std::thread::spawn(move || {
        run(&["load", "-c", "2", "--qps", "40", "-t", "6s", "--json", &url])
    });
    std::thread::sleep(Duration::from_secs(1));
    signal(control.pid, Signal::SIGKILL);

    // The launcher restarts it on the same address, with a new pid.
    let deadline = Instant::now() + IN_FORCE_TIMEOUT;
    loop {
        let restarted = stack
            .state_now()
            .and_then(|s| s.control_plane)
            .is_some_and(|c| c.pid != control.pid && c.grpc == control.grpc);
        if restarted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the control plane was not restarted:\n{}",
            stack.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = load.join().expect("load thread");
    assert!(output.status.success(), "load: {output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("load JSON");
    assert_eq!(report["errors"], 0, "no request failed: {report:#}");
    let codes = report["status_codes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(
        !codes.is_empty() && codes.keys().all(|k| k == "200"),
        "every answer 200: {report:#}"
    );
    // And the proxies re-sync with the new process.
    until_all_synced(&stack);
}
