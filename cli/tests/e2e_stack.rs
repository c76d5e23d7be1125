//! End to end: `sailkit up` as a real process, the whole Bookinfo + banner stack behind it, used
//! the way a person uses it: the book page through the front door, a banner created through the
//! banner service's address, then SIGTERM.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sailkit::services::ServiceName;
use serde_json::json;
use support::{Stack, http, is_alive, ratings_on, run};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .expect("0 is a valid nanosecond")
        .format(&Rfc3339)
        .expect("formattable")
}

#[tokio::test]
async fn the_stack_serves_the_book_page_with_every_reviews_version_and_stops_cleanly() {
    let mut stack = Stack::start();
    let client = http();
    let app = stack.state.app_url.clone();
    assert_eq!(app, format!("{}/productpage", stack.state.front_door));
    assert_eq!(stack.state.instances.len(), 8);

    // 1. The page, refreshed: the reviews VIP takes turns over v1, v2 and v3.
    let mut variants = BTreeSet::new();
    for _ in 0..12 {
        let response = client.get(&app).send().await.expect("front door");
        assert_eq!(response.status(), 200);
        let page = response.text().await.expect("page");
        assert!(page.contains("Simple Bookstore App"), "{page}");
        assert!(
            page.contains("Reviewer1") && page.contains("Reviewer2"),
            "{page}"
        );
        assert!(page.contains("PublisherA"), "details are shown: {page}");
        variants.insert(ratings_on(&page));
    }
    let stars = |color: &str| vec![(5, color.to_string()), (4, color.to_string())];
    assert_eq!(
        variants,
        BTreeSet::from([vec![], stars("black"), stars("red")]),
        "no stars (v1), black stars (v2), red stars (v3)"
    );

    // 2. A banner created through the banner VIP shows on the page.
    let banner_vip = &stack
        .state
        .vip(ServiceName::Banner)
        .expect("banner VIP")
        .url;
    let title = format!("Launch week {}", stack.state.launcher_pid);
    let now = OffsetDateTime::now_utc();
    let body = json!({
        "title": title,
        "platform": "desktop",
        "slot": 1,
        "starts_at": rfc3339(now - time::Duration::hours(1)),
        "ends_at": rfc3339(now + time::Duration::hours(1)),
    });
    // Writes need the admin account; the launcher made its password on the first start.
    let anonymous = client
        .post(format!("{banner_vip}/api/v1/banners"))
        .json(&body)
        .send()
        .await
        .expect("banner VIP");
    assert_eq!(anonymous.status(), 401, "{:?}", anonymous.text().await);
    let password = std::fs::read_to_string(stack.data_dir().join("admin-password"))
        .expect("the launcher wrote the admin password");
    let created = client
        .post(format!("{banner_vip}/api/v1/banners"))
        .basic_auth("admin", Some(password.trim_end()))
        .json(&body)
        .send()
        .await
        .expect("banner VIP");
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = client
            .get(&app)
            .send()
            .await
            .expect("front door")
            .text()
            .await
            .expect("page");
        if page.contains(&title) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the banner never showed:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 3. `sailkit status` sees it.
    let data_dir = stack.data_dir().display().to_string();
    let status = run(&["status", "--data-dir", &data_dir]);
    assert!(status.status.success(), "{status:?}");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains(&app), "{text}");
    assert!(text.contains("reviews-v3"), "{text}");

    // 4. The data directory is the user's alone: the databases (with the admin's sessions),
    //    the admin password and the logs are readable by nobody else.
    assert_private(&stack.data_dir());
    assert_private(&stack.data_dir().join("logs"));
    assert!(stack.data_dir().join("banner.db").exists());

    // 5. SIGTERM: exit 0, every instance gone, the state file and lock removed.
    let pids: Vec<u32> = stack.state.instances.iter().filter_map(|i| i.pid).collect();
    assert_eq!(pids.len(), 8);
    let exit = stack.terminate();
    assert!(exit.success(), "{exit}\n{}", stack.output());
    for pid in pids {
        assert!(!is_alive(pid), "instance pid {pid} is still running");
    }
    let run_dir = stack.data_dir().join("run");
    assert!(!run_dir.join("stack.json").exists());
    assert!(!run_dir.join("lock").exists());
    assert!(stack.output().contains("stopped"), "{}", stack.output());
    let status = run(&["status", "--data-dir", &data_dir]);
    assert_eq!(status.status.code(), Some(3), "not running any more");
}

/// `dir` is `0700` and no file directly in it has a group or other permission bit.
fn assert_private(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for entry in std::fs::read_dir(dir).expect("listed") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is readable by others",
                path.display()
            );
        }
    }
}

/// The pid `sailkit up` records for `instance` right now.
fn current_pid(stack: &Stack, instance: &str) -> Option<u32> {
    support::instance(&stack.state_now()?, instance).pid
}

/// Polls `condition` every 50 ms for up to `limit`.
async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    condition()
}

/// The pod names that answer `count` requests to the reviews VIP.
async fn reviews_pods(client: &reqwest::Client, vip: &str, count: usize) -> BTreeSet<String> {
    let mut pods = BTreeSet::new();
    for _ in 0..count {
        let response = client
            .get(format!("{vip}/reviews/0"))
            .send()
            .await
            .expect("reviews VIP");
        assert_eq!(response.status(), 200, "the VIP skips the crashed instance");
        let body: serde_json::Value = response.json().await.expect("JSON");
        pods.insert(body["podname"].as_str().unwrap_or_default().to_string());
    }
    pods
}

#[tokio::test]
async fn a_crashed_instance_is_skipped_then_restarted() {
    let stack = Stack::start();
    let client = http();
    let vip = stack
        .state
        .vip(ServiceName::Reviews)
        .expect("reviews VIP")
        .url
        .clone();
    let old_pid = current_pid(&stack, "reviews-v2").expect("reviews-v2 runs");

    support::signal(old_pid, nix::sys::signal::Signal::SIGKILL);
    assert!(
        eventually(Duration::from_secs(10), || current_pid(
            &stack,
            "reviews-v2"
        ) != Some(old_pid))
        .await,
        "the launcher noticed the crash"
    );
    // While reviews-v2 is down, its turns go to the others.
    let pods = reviews_pods(&client, &vip, 6).await;
    assert!(!pods.contains("reviews-v2"), "{pods:?}");

    assert!(
        eventually(Duration::from_secs(30), || current_pid(
            &stack,
            "reviews-v2"
        )
        .is_some())
        .await,
        "reviews-v2 was restarted:\n{}",
        stack.output()
    );
    let new_pid = current_pid(&stack, "reviews-v2").expect("restarted");
    assert_ne!(new_pid, old_pid);
    let pods = reviews_pods(&client, &vip, 6).await;
    assert_eq!(
        pods,
        BTreeSet::from([
            "reviews-v1".into(),
            "reviews-v2".into(),
            "reviews-v3".into()
        ])
    );

    let output = stack.output();
    assert!(
        output.contains("reviews-v2") && output.contains("exited unexpectedly: killed by SIGKILL"),
        "{output}"
    );
    assert!(output.contains("reviews-v2 is back"), "{output}");
}
