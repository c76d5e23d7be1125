//! End to end: a sidecar that crashes is restarted by the launcher on the same addresses, so its
//! instance's `HTTP_PROXY` works again without restarting the instance. The stack runs with
//! `--inbound`, so the restarted sidecar must also take back the inbound address that the front
//! door and its peers use.

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use sailkit::up::state;
use support::{Stack, http, instance, is_alive, sidecar, signal, stat};

/// Generous: the first back-off is 1 s, and a busy machine can be slow to start a process.
const BACK_WITHIN: Duration = Duration::from_secs(60);

/// The productpage page, if it shows the book's details and reviews (both reached through
/// productpage's sidecar).
async fn full_page(client: &reqwest::Client, app: &str) -> Result<(), String> {
    let response = client.get(app).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let page = response.text().await.map_err(|e| e.to_string())?;
    if status == 200 && page.contains("PublisherA") && page.contains("Reviewer1") {
        Ok(())
    } else {
        Err(format!("{status}: {page}"))
    }
}

#[tokio::test]
async fn a_killed_sidecar_is_restarted_on_the_same_addresses_and_pages_work_again() {
    let stack = Stack::start_with(&["--inbound"]);
    let client = http();
    let app = stack.state.app_url.clone();
    let sidecar_of = |state: &state::Stack| sidecar(state, "productpage-v1");
    let before = sidecar_of(&stack.state);
    full_page(&client, &app)
        .await
        .expect("the page works before the crash");

    signal(before.pid, Signal::SIGKILL);

    // The launcher notices, waits its back-off, starts the sidecar again on the same ports and
    // records the new pid in stack.json.
    let deadline = Instant::now() + BACK_WITHIN;
    let after = loop {
        let now = stack.state_now().map(|s| sidecar_of(&s));
        if let Some(after) = now
            && after.pid != before.pid
        {
            break after;
        }
        assert!(
            Instant::now() < deadline,
            "stack.json still shows pid {} after {BACK_WITHIN:?}:\n{}",
            before.pid,
            stack.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!is_alive(before.pid), "the killed sidecar is gone");
    assert!(is_alive(after.pid), "the new sidecar runs");
    assert_eq!(
        (&after.outbound, &after.admin, &after.inbound),
        (&before.outbound, &before.admin, &before.inbound),
        "same addresses: productpage's HTTP_PROXY and the registry's entry are still valid"
    );

    // Pages work again, through the new sidecar: productpage was not restarted.
    loop {
        let last = match full_page(&client, &app).await {
            Ok(()) => break,
            Err(page) => page,
        };
        assert!(
            Instant::now() < deadline,
            "no full page within {BACK_WITHIN:?} of the crash; last:\n{last}\n{}",
            stack.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        stat(&after.admin, "requests").await >= 2,
        "the page's calls went through the new sidecar"
    );
    let pid_of_app = |s: &state::Stack| instance(s, "productpage-v1").pid;
    assert_eq!(
        pid_of_app(&stack.state_now().expect("stack.json")),
        pid_of_app(&stack.state),
        "the instance itself was not restarted"
    );
    let output = stack.output();
    assert!(
        output.contains("productpage-v1-sidecar") && output.contains("is back"),
        "the launcher says what happened:\n{output}"
    );
}
