//! Resilience through the mesh, end to end: retries and outlier detection at work on a ratings
//! instance that fails on purpose.
//!
//! Each test starts its own stack with one instance more than usual,
//! `sailkit up --extra ratings-v-faulty`: ratings v-faulty answers half of its `GET /ratings/{id}`
//! with a 503, at random. It is labelled `app: ratings, version: v-faulty`, so calls to ratings
//! go round robin over three instances (v1, v2, v-faulty) unless a DestinationRule subset says
//! otherwise. The scenario files come from `k8s/networking/` and are applied with
//! `sailkit apply`; each test waits until the caller's sidecar shows them in `/config_dump`.
//!
//! What is observed, and where:
//! - the product page as jason (reviews v2, which asks ratings once per page): the stars, or
//!   "Ratings service is currently unavailable";
//! - the sidecar of reviews v2, the one caller of ratings: `/stats` (`retries`,
//!   `outlier_ejections_total`) and its access log (`<data-dir>/logs/reviews-v2-sidecar.log`, one
//!   line per request with the address of the instance that answered).
//!
//! Randomness is bounded, never hoped away: each "at least once" below fails only when a
//! 50 % draw comes out the same way 20 times in a row (2^-20, under one in a million), and
//! times are checked from below only.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    IN_FORCE_TIMEOUT, Stack, apply, config_dump, instance, page, scenario, sidecar, sign_in, stat,
    until,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The instance these tests add to the stack, and the launcher option that adds it.
const FAULTY: &str = "ratings-v-faulty";
const WITH_FAULTY: [&str; 2] = ["--extra", FAULTY];

/// What reviews v2 shows in place of the stars when ratings fails.
const RATINGS_UNAVAILABLE: &str = "Ratings service is currently unavailable";

/// Pages fetched for each half of the retry test. Without retries, reviews v2's sidecar sends
/// ratings calls to v1, v2 and v-faulty in turn, so 60 pages (one ratings call each) send 20
/// to v-faulty; each fails with probability 1/2, independently, so all 20 succeed with
/// probability 2^-20 ≈ 9.5e-7. With retries, a 503 is retried on an instance not tried yet,
/// a healthy one, so no page may show the error.
const PAGES: usize = 60;

/// The admin URL of `name`'s sidecar.
fn admin_of(stack: &Stack, name: &str) -> String {
    sidecar(&stack.state, name).admin
}

/// ratings' endpoints in the mesh registry a sidecar has loaded (`/config_dump`).
fn ratings_endpoints(dump: &Value) -> Vec<Value> {
    dump["registry"]["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "ratings"))
        .and_then(|ratings| ratings["endpoints"].as_array())
        .cloned()
        .unwrap_or_else(|| panic!("ratings' endpoints in the registry:\n{dump:#}"))
}

/// The `host:port` at which the mesh reaches v-faulty, found by its labels, as a subset would
/// select it: the address the access log names as the upstream.
fn faulty_address(dump: &Value) -> String {
    let endpoints = ratings_endpoints(dump);
    let faulty = endpoints
        .iter()
        .find(|e| e["labels"]["version"] == "v-faulty")
        .unwrap_or_else(|| panic!("an endpoint labelled version v-faulty: {endpoints:#?}"));
    assert_eq!(faulty["labels"]["app"], "ratings");
    faulty["address"].as_str().expect("an address").to_string()
}

/// The `retries.attempts` of the ratings VirtualService a sidecar has in force, if any.
fn ratings_retry_attempts(dump: &Value) -> Option<u64> {
    dump["config"]["virtual_services"]
        .as_array()?
        .iter()
        .find(|vs| vs["name"] == "ratings")?["rules"][0]["retries"]["attempts"]
        .as_u64()
}

/// Polls a sidecar's `/config_dump` until `in_force` holds; fails the test after
/// [`IN_FORCE_TIMEOUT`] with the last dump.
async fn until_in_force(admin: &str, what: &str, in_force: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + IN_FORCE_TIMEOUT;
    loop {
        let dump = config_dump(admin).await;
        if in_force(&dump) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not in force within {IN_FORCE_TIMEOUT:?}:\n{dump:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_retry_policy_hides_a_faulty_ratings_instance() {
    let stack = Stack::start_with(&WITH_FAULTY);
    // The extra instance is in the stack, with its sidecar, and in the mesh's registry with
    // the labels a DestinationRule subset selects on.
    let faulty = instance(&stack.state, FAULTY);
    assert_eq!(faulty.version, "v-faulty");
    assert!(faulty.sidecar.is_some(), "{faulty:?}");
    let reviews_v2 = admin_of(&stack, "reviews-v2");
    let dump = config_dump(&reviews_v2).await;
    faulty_address(&dump);
    assert_eq!(ratings_endpoints(&dump).len(), 3, "v1, v2 and v-faulty");

    // jason on reviews v2, which calls ratings; everyone else on v1. (As in the fault
    // injection task: two applies, the second VirtualService reviews replacing the first.)
    let jason = sign_in(&stack, "jason").await;
    apply(
        &stack,
        &["destination-rule-all.yaml", "virtual-service-all-v1.yaml"],
    );
    apply(&stack, &["virtual-service-reviews-test-v2.yaml"]);
    until(&stack, Some(&jason), "reviews v2 for jason", |p| {
        p.contains("data-color=\"black\"")
    })
    .await;

    // 1. Retries off. They must be turned off explicitly: with no `retries` in the rule, the
    // proxy applies Istio's default (2 retries on connect-failure, refused-stream and 503), which
    // would already hide v-faulty's 503s and leave nothing to compare with.
    apply(&stack, &["virtual-service-ratings-no-retries.yaml"]);
    until_in_force(&reviews_v2, "ratings without retries", |dump| {
        ratings_retry_attempts(dump) == Some(0)
    })
    .await;
    let mut failed = 0;
    for _ in 0..PAGES {
        let page = page(&stack, Some(&jason)).await;
        // The reviews still come; only their stars may be missing.
        assert!(page.contains("Reviewer1"), "{page}");
        if page.contains(RATINGS_UNAVAILABLE) {
            failed += 1;
        }
    }
    assert!(
        failed > 0,
        "v-faulty answers half its calls with 503, and got about {} of {PAGES} without retries, \
         yet no page showed \"{RATINGS_UNAVAILABLE}\"",
        PAGES / 3
    );

    // 2. Retries on, to any instance: every page shows its stars.
    let retries_before = stat(&reviews_v2, "retries").await;
    apply(
        &stack,
        &["virtual-service-ratings-retries-all-versions.yaml"],
    );
    until_in_force(&reviews_v2, "ratings with 3 retries", |dump| {
        ratings_retry_attempts(dump) == Some(3)
    })
    .await;
    for n in 1..=PAGES {
        let page = page(&stack, Some(&jason)).await;
        assert!(
            page.contains("data-color=\"black\"") && !page.contains(RATINGS_UNAVAILABLE),
            "page {n} of {PAGES} with retries on still shows the failure:\n{page}"
        );
    }
    // The error was hidden, not absent: v-faulty still failed (a first attempt lands on it at
    // least every third page), and the sidecar retried.
    let retries = stat(&reviews_v2, "retries").await - retries_before;
    assert!(
        retries > 0,
        "no retry in {PAGES} pages with retries on: v-faulty never failed?"
    );
    println!(
        "without retries: {failed} of {PAGES} pages failed; with retries: 0, {retries} retries"
    );
}

/// One line of a sidecar's access log, the parts these tests read.
#[derive(Debug, Clone)]
struct Access {
    started: OffsetDateTime,
    /// `started` plus the logged duration: when the answer had been sent.
    finished: OffsetDateTime,
    status: u16,
    upstream: String,
}

/// Parses an access log line, `[start] "GET /path HTTP/1.1" status flags in out ms "upstream"
/// "route" "request id" "trace id"`, wherever it sits in the launcher's log line; `None` for
/// other lines.
fn parse_access(line: &str, path: &str) -> Option<Access> {
    let request = format!("\"GET {path} HTTP/1.1\" ");
    let at = line.find(&request)?;
    let before = line[..at].trim_end().strip_suffix(']')?;
    let started = before.rsplit_once('[')?.1;
    // ` status flags in out ms `, `upstream`, ` `, `route`, ` `, `request id`, ` `, `trace id`,
    // and the end: a line still being written (no closing quote yet) is not read.
    let parts: Vec<&str> = line[at + request.len()..].split('"').collect();
    let [
        counts,
        upstream,
        _,
        _route,
        _,
        _request_id,
        _,
        _trace_id,
        _end,
    ] = parts.as_slice()
    else {
        return None;
    };
    let counts: Vec<&str> = counts.split_whitespace().collect();
    let [status, _flags, _in, _out, millis] = counts.as_slice() else {
        return None;
    };
    let started = OffsetDateTime::parse(started, &Rfc3339).ok()?;
    Some(Access {
        started,
        finished: started + Duration::from_millis(millis.parse().ok()?),
        status: status.parse().ok()?,
        upstream: upstream.to_string(),
    })
}

/// Every request to `path` in `instance`'s sidecar access log, in the order logged.
fn access_log(stack: &Stack, instance: &str, path: &str) -> Vec<Access> {
    stack
        .sidecar_log(instance)
        .lines()
        .filter_map(|l| parse_access(l, path))
        .collect()
}

#[tokio::test]
async fn outlier_detection_ejects_a_failing_instance_and_brings_it_back() {
    // The times of `destination-rule-ratings-outlier-detection.yaml`, which the checks below
    // rest on: one 5xx ejects, for 2 s at least.
    let rule = std::fs::read_to_string(scenario("destination-rule-ratings-outlier-detection.yaml"))
        .expect("scenario");
    assert!(
        rule.contains("consecutive5xxErrors: 1")
            && rule.contains("baseEjectionTime: 2s")
            && rule.contains("maxEjectionPercent: 100"),
        "{rule}"
    );
    const EJECTION: Duration = Duration::from_secs(2);
    // The log's times are whole milliseconds (rounded down) of the wall clock, the ejection's
    // of the monotonic one: this much room covers both.
    const ROUNDING: Duration = Duration::from_millis(10);

    let stack = Stack::start_with(&WITH_FAULTY);
    let reviews_v2 = admin_of(&stack, "reviews-v2");
    let faulty = faulty_address(&config_dump(&reviews_v2).await);
    // Outlier detection on ratings, and no retries: each request is then one attempt, and its
    // access log line names the instance that answered it (with retries, a 503 from v-faulty
    // would be retried elsewhere and logged under the healthy instance).
    apply(
        &stack,
        &[
            "destination-rule-ratings-outlier-detection.yaml",
            "virtual-service-ratings-no-retries.yaml",
        ],
    );
    until_in_force(&reviews_v2, "outlier detection without retries", |dump| {
        ratings_retry_attempts(dump) == Some(0)
            && dump["config"]["files"]
                .to_string()
                .contains("destination-rule-ratings-outlier-detection.yaml")
    })
    .await;
    let ejections_before = stat(&reviews_v2, "outlier_ejections_total").await;

    // Call ratings through reviews v2's sidecar, as reviews v2 does (`HTTP_PROXY`, peers by
    // name), one request at a time, until the log shows a 503 from v-faulty and, after it,
    // v-faulty taking traffic again.
    let outbound = sidecar(&stack.state, "reviews-v2").outbound;
    let through_sidecar = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(&outbound).expect("proxy URL"))
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(120);
    let log = loop {
        for _ in 0..20 {
            let response = through_sidecar
                .get("http://ratings:9080/ratings/0")
                .send()
                .await
                .expect("the sidecar answers");
            let status = response.status().as_u16();
            assert!(status == 200 || status == 503, "{status}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log = access_log(&stack, "reviews-v2", "/ratings/0");
        let first_failure = log
            .iter()
            .position(|a| a.upstream == faulty && a.status == 503);
        let back = first_failure.is_some_and(|i| log[i + 1..].iter().any(|a| a.upstream == faulty));
        if back {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "never saw v-faulty ({faulty}) fail and then take traffic again; log:\n{log:#?}"
        );
    };

    // Each 503 from v-faulty ejected it (one 5xx is enough, and every instance may be out):
    let ejections = stat(&reviews_v2, "outlier_ejections_total").await - ejections_before;
    let failures = log
        .iter()
        .filter(|a| a.upstream == faulty && a.status == 503)
        .count();
    assert!(ejections >= 1, "a 503 from v-faulty ejected nothing");
    println!(
        "{} requests, {failures} 503s from v-faulty, {ejections} ejections",
        log.len()
    );
    // ... and while it was out, v-faulty got nothing, though the others kept answering. What
    // the log can bound from below: the failed request arrived (`started`) before its 503
    // ejected v-faulty, and the next request to v-faulty was answered (`finished`) after the
    // proxy picked v-faulty for it, so after the ejection ended.
    let mut gaps = Vec::new();
    for (i, failed) in log.iter().enumerate() {
        if failed.upstream != faulty || failed.status != 503 {
            continue;
        }
        let Some(next) = log[i + 1..].iter().position(|a| a.upstream == faulty) else {
            continue; // the last failure: its ejection may not be over yet
        };
        let next = i + 1 + next;
        let gap = log[next].finished - failed.started;
        assert!(
            gap >= EJECTION - ROUNDING,
            "v-faulty failed at {} and was called again by {}, only {gap} later",
            failed.started,
            log[next].finished
        );
        let others = log[i + 1..next]
            .iter()
            .filter(|a| a.upstream != faulty && a.status == 200)
            .count();
        assert!(
            others >= 1,
            "nobody was called while v-faulty was out:\n{:#?}",
            &log[i..=next]
        );
        gaps.push(gap.whole_milliseconds());
    }
    // The loop above stopped on a failure followed by a later call: brought back.
    assert!(!gaps.is_empty(), "{log:#?}");
    println!("v-faulty answered again {gaps:?} ms after its failures");
}
