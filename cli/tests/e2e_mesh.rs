//! End to end with the mesh: `sailkit up` (the mesh is the default) starts a sidecar beside every instance, the
//! services reach their peers through them, and `sailkit apply` changes the routing of the
//! running stack with Istio's own scenario files from `k8s/networking/`.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::{Stack, apply_to, is_alive, page, ratings_on, run, scenario, sidecar, stat};

fn stars(color: &str) -> Vec<(u32, String)> {
    vec![(5, color.to_string()), (4, color.to_string())]
}

/// The page as `cookie` (a signed-in user) or anonymously; its ratings.
async fn ratings(stack: &Stack, cookie: Option<&str>) -> Vec<(u32, String)> {
    let page = page(stack, cookie).await;
    assert!(page.contains("Reviewer1"), "{page}");
    ratings_on(&page)
}

/// Polls until `count` pages in a row as `cookie` show `expected`; false after 15 s.
async fn settles_on(
    stack: &Stack,
    cookie: Option<&str>,
    expected: &[(u32, String)],
    count: usize,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut in_a_row = 0;
    while Instant::now() < deadline {
        if ratings(stack, cookie).await == expected {
            in_a_row += 1;
            if in_a_row == count {
                return true;
            }
        } else {
            in_a_row = 0;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    false
}

#[tokio::test]
async fn scenarios_applied_to_the_running_mesh_change_the_routing() {
    let mut stack = Stack::start();
    let sidecars: Vec<_> = stack
        .state
        .instances
        .iter()
        .filter_map(|i| i.sidecar.clone())
        .collect();
    assert_eq!(sidecars.len(), 8, "one sidecar per instance");

    // 1. No config: the sidecars spread reviews calls over v1, v2 and v3.
    let mut variants = BTreeSet::new();
    for _ in 0..15 {
        variants.insert(ratings(&stack, None).await);
    }
    assert_eq!(
        variants,
        BTreeSet::from([vec![], stars("black"), stars("red")])
    );
    // The calls really went through productpage's sidecar.
    let productpage = sidecar(&stack.state, "productpage-v1");
    let requests = stat(&productpage.admin, "requests").await;
    assert!(
        requests >= 15,
        "productpage's calls went through its sidecar: {requests} requests"
    );

    // 2. All v1: no stars, page after page.
    let applied = apply_to(
        &stack.data_dir(),
        &[
            scenario("destination-rule-all.yaml"),
            scenario("virtual-service-all-v1.yaml"),
        ],
    );
    assert!(applied.status.success(), "{applied:?}");
    assert!(
        settles_on(&stack, None, &[], 10).await,
        "all-v1 never settled"
    );

    // 3. jason gets v2 (black stars), everyone else v1.
    let applied = apply_to(
        &stack.data_dir(),
        &[scenario("virtual-service-reviews-test-v2.yaml")],
    );
    assert!(applied.status.success(), "{applied:?}");
    let cookie = support::sign_in(&stack, "jason").await;
    assert!(
        settles_on(&stack, Some(&cookie), &stars("black"), 5).await,
        "jason never got black stars"
    );
    assert!(settles_on(&stack, None, &[], 5).await);

    // 4. A misspelled field: refused with file:line, and the routing stays.
    let bad_dir = tempfile::tempdir().expect("tempdir");
    let good =
        std::fs::read_to_string(scenario("virtual-service-reviews-50-v3.yaml")).expect("scenario");
    let bad = bad_dir.path().join("virtual-service-reviews-50-v3.yaml");
    std::fs::write(&bad, good.replacen("weight:", "wieght:", 1)).expect("write");
    let refused = apply_to(&stack.data_dir(), std::slice::from_ref(&bad));
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains(&format!("{}:", bad.display())) && said.contains("wieght"),
        "{said}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..5 {
        assert_eq!(ratings(&stack, Some(&cookie)).await, stars("black"));
        assert_eq!(ratings(&stack, None).await, Vec::new());
    }
    let listed = run(&[
        "apply",
        "--list",
        "--data-dir",
        &stack.data_dir().display().to_string(),
    ]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("virtual-service-reviews-test-v2.yaml"),
        "{listed}"
    );

    // 5. SIGTERM stops everything, sidecars included.
    let exit = stack.terminate();
    assert!(exit.success(), "{exit}\n{}", stack.output());
    for sidecar in sidecars {
        assert!(
            !is_alive(sidecar.pid),
            "sidecar pid {} still runs",
            sidecar.pid
        );
    }
}

#[tokio::test]
async fn no_mesh_starts_the_stack_without_sidecars() {
    let stack = Stack::start_with(&["--no-mesh"]);
    assert!(stack.state.instances.iter().all(|i| i.sidecar.is_none()));
    assert!(stack.state.gateway.is_none(), "no mesh, no gateway");
    let mut variants = BTreeSet::new();
    for _ in 0..12 {
        variants.insert(ratings(&stack, None).await);
    }
    assert_eq!(
        variants,
        BTreeSet::from([vec![], stars("black"), stars("red")]),
        "the VIPs take turns over v1, v2 and v3"
    );
    let run_dir = stack.data_dir().join("run");
    let leftovers: Vec<_> = std::fs::read_dir(&run_dir)
        .expect("run dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("sidecar"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
