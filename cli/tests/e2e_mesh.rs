//! End to end with the mesh: `sailkit up` (the mesh is the default) starts a sidecar beside every instance, the
//! services reach their peers through them, and `sailkit apply` changes the routing of the
//! running stack with Istio's own scenario files from `k8s/networking/`.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::{Stack, http, is_alive, run, scenario};

/// The ratings on a page as (stars, colour), as in e2e_stack: empty for reviews v1.
fn ratings_on(page: &str) -> Vec<(u32, String)> {
    page.split("data-stars=\"")
        .skip(1)
        .filter_map(|rest| {
            let (stars, rest) = rest.split_once('"')?;
            let color = rest.split_once("data-color=\"")?.1.split_once('"')?.0;
            Some((stars.parse().ok()?, color.to_string()))
        })
        .collect()
}

fn stars(color: &str) -> Vec<(u32, String)> {
    vec![(5, color.to_string()), (4, color.to_string())]
}

/// The page as `cookie` (a signed-in user) or anonymously; its ratings.
async fn ratings(client: &reqwest::Client, app: &str, cookie: Option<&str>) -> Vec<(u32, String)> {
    let mut request = client.get(app);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("front door");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("page");
    assert!(page.contains("Reviewer1"), "{page}");
    ratings_on(&page)
}

/// `sailkit apply <files>` against the stack's data directory.
fn apply(stack: &Stack, files: &[PathBuf]) -> std::process::Output {
    let data_dir = stack.data_dir().display().to_string();
    let mut args = vec!["apply".to_string(), "--data-dir".into(), data_dir];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

/// Polls until `count` pages in a row as `cookie` show `expected`; false after 15 s.
async fn settles_on(
    client: &reqwest::Client,
    app: &str,
    cookie: Option<&str>,
    expected: &[(u32, String)],
    count: usize,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut in_a_row = 0;
    while Instant::now() < deadline {
        if ratings(client, app, cookie).await == expected {
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
    let client = http();
    let app = stack.state.app_url.clone();
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
        variants.insert(ratings(&client, &app, None).await);
    }
    assert_eq!(
        variants,
        BTreeSet::from([vec![], stars("black"), stars("red")])
    );
    // The calls really went through productpage's sidecar.
    let productpage = stack
        .state
        .instances
        .iter()
        .find(|i| i.name == "productpage-v1")
        .and_then(|i| i.sidecar.clone())
        .expect("productpage's sidecar");
    let stats = client
        .get(format!("{}/stats", productpage.admin))
        .send()
        .await
        .expect("admin")
        .text()
        .await
        .expect("stats");
    let requests: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("requests ")?.trim().parse().ok())
        .unwrap_or_default();
    assert!(
        requests >= 15,
        "productpage's calls went through its sidecar:\n{stats}"
    );

    // 2. All v1: no stars, page after page.
    let applied = apply(
        &stack,
        &[
            scenario("destination-rule-all.yaml"),
            scenario("virtual-service-all-v1.yaml"),
        ],
    );
    assert!(applied.status.success(), "{applied:?}");
    assert!(
        settles_on(&client, &app, None, &[], 10).await,
        "all-v1 never settled"
    );

    // 3. jason gets v2 (black stars), everyone else v1.
    let applied = apply(&stack, &[scenario("virtual-service-reviews-test-v2.yaml")]);
    assert!(applied.status.success(), "{applied:?}");
    let cookie = support::sign_in(&stack, "jason").await;
    assert!(
        settles_on(&client, &app, Some(&cookie), &stars("black"), 5).await,
        "jason never got black stars"
    );
    assert!(settles_on(&client, &app, None, &[], 5).await);

    // 4. A misspelled field: refused with file:line, and the routing stays.
    let bad_dir = tempfile::tempdir().expect("tempdir");
    let good =
        std::fs::read_to_string(scenario("virtual-service-reviews-50-v3.yaml")).expect("scenario");
    let bad = bad_dir.path().join("virtual-service-reviews-50-v3.yaml");
    std::fs::write(&bad, good.replacen("weight:", "wieght:", 1)).expect("write");
    let refused = apply(&stack, std::slice::from_ref(&bad));
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains(&format!("{}:", bad.display())) && said.contains("wieght"),
        "{said}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..5 {
        assert_eq!(ratings(&client, &app, Some(&cookie)).await, stars("black"));
        assert_eq!(ratings(&client, &app, None).await, Vec::new());
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
    let mut variants = BTreeSet::new();
    for _ in 0..12 {
        variants.insert(ratings(&http(), &stack.state.app_url, None).await);
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
