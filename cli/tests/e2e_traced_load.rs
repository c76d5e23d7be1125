//! End to end: a service that traces every request keeps working at full speed. The stack's
//! instances export their spans to the dashboard (every request sampled), and banner answers
//! `sailkit load` as fast as it can ask, on four connections, three times over.
//!
//! Each of banner's requests runs a traced SQLite query, handed to one of sqlx's worker
//! threads. A span closed on those threads once panicked them (see `common::db::query_span`),
//! and each panic cost the pool a connection for good: within a few seconds every request
//! waited 5 s for a connection and failed. So: no request may fail, and banner still answers
//! quickly after the load.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::Stack;

#[tokio::test]
async fn banner_answers_every_request_of_a_traced_load() {
    let stack = Stack::start();
    assert!(stack.state.dashboard.is_some(), "spans go to the dashboard");
    let banner = support::instance(&stack.state, "banner-v1").url.clone();
    let url = format!("{banner}/api/v1/banners/active?platform=desktop&slot=1");
    for round in 1..=3 {
        let load = url.clone();
        let output = tokio::task::spawn_blocking(move || {
            support::run(&["load", "-c", "4", "-t", "3s", "--json", &load])
        })
        .await
        .expect("load thread");
        assert!(output.status.success(), "round {round}: {output:?}");
        let report: Value = serde_json::from_slice(&output.stdout).expect("load JSON");
        assert_eq!(report["errors"], 0, "round {round}: {report:#}");
        assert!(
            report["requests"].as_u64().unwrap_or(0) > 100,
            "round {round}: {report:#}"
        );
        // No banner is scheduled in a fresh stack: every answer is banner's 404.
        let codes: Vec<&String> = report["status_codes"]
            .as_object()
            .map(|codes| codes.keys().collect())
            .unwrap_or_default();
        assert_eq!(codes, ["404"], "round {round}: {report:#}");
    }
    let started = Instant::now();
    let after = support::http()
        .get(&url)
        .send()
        .await
        .expect("banner answers after the load");
    assert_eq!(after.status(), 404, "no banner is scheduled");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        !stack.output().contains("no such span"),
        "{}",
        stack.output()
    );
}
