//! Istio's Bookinfo tasks, end to end through the mesh: each test starts its own stack
//! (`sailkit up --port-base 0`, sidecars on), applies the task's files from `k8s/networking/`
//! with `sailkit apply`, waits until the page shows the routing is in force, then checks what
//! the istio.io task says a learner should see.
//!
//! Timings are checked from below only: a fault can make the page slower than it must be on a
//! busy machine, never faster, so only a lower bound cannot flake.

mod support;

use std::time::Duration;

use support::{Stack, apply, fetch, http, scenario, sign_in, until};

/// What reviews v2 shows in place of the stars when ratings fails.
const RATINGS_UNAVAILABLE: &str = "Ratings service is currently unavailable";
/// The heading productpage shows when it got no answer from reviews.
const REVIEWS_ERROR: &str = "Error fetching product reviews";
/// The message under that heading.
const REVIEWS_UNAVAILABLE: &str = "Sorry, product reviews are currently unavailable for this book.";

/// The prerequisite of the fault-injection task: every service on v1, except jason who gets
/// reviews v2 (which calls ratings). Two applies, as in the task: one apply refuses two
/// VirtualServices of the same name, a later one replaces the earlier.
fn jason_on_v2(stack: &Stack) {
    apply(
        stack,
        &["destination-rule-all.yaml", "virtual-service-all-v1.yaml"],
    );
    apply(stack, &["virtual-service-reviews-test-v2.yaml"]);
}

fn has_stars(page: &str) -> bool {
    page.contains("data-stars=\"")
}

/// The reviews are there, with no error of any kind about them.
fn reviews_shown_without_error(page: &str) -> bool {
    page.contains("Reviewer1")
        && page.contains("Reviewer2")
        && !page.contains(REVIEWS_ERROR)
        && !page.contains(RATINGS_UNAVAILABLE)
}

#[tokio::test]
async fn abort_for_jason_shows_ratings_unavailable_and_spares_everyone_else() {
    let stack = Stack::start();
    let jason = sign_in(&stack, "jason").await;
    jason_on_v2(&stack);
    // jason on v2 (black stars) first, so the abort below is known to change something.
    until(&stack, Some(&jason), "black stars for jason", |p| {
        p.contains("data-color=\"black\"")
    })
    .await;

    apply(&stack, &["virtual-service-ratings-test-abort.yaml"]);
    let page = until(&stack, Some(&jason), "ratings aborted for jason", |p| {
        p.contains(RATINGS_UNAVAILABLE)
    })
    .await;
    // Once per review, in place of its stars; the reviews themselves still came.
    assert_eq!(page.matches(RATINGS_UNAVAILABLE).count(), 2, "{page}");
    assert!(!has_stars(&page), "{page}");
    assert!(
        page.contains("Reviewer1") && !page.contains(REVIEWS_ERROR),
        "{page}"
    );
    // The page leads to the cause in its headers: reviews passed on the hop its sidecar named.
    let answer = http()
        .get(&stack.state.app_url)
        .header("cookie", &jason)
        .send()
        .await
        .expect("front door");
    let hops: Vec<&str> = answer
        .headers()
        .get_all("x-sailkit-failed-hop")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(hops, ["reviews-v2 -> ratings:9080"]);

    // Anonymous users stay on v1, which never calls ratings.
    let (page, _) = fetch(&stack, None).await;
    assert!(reviews_shown_without_error(&page), "{page}");
    assert!(!has_stars(&page), "{page}");
}

#[tokio::test]
async fn delay_for_jason_outlasts_productpage_and_loses_the_reviews() {
    let stack = Stack::start();
    let jason = sign_in(&stack, "jason").await;
    jason_on_v2(&stack);
    until(&stack, Some(&jason), "black stars for jason", |p| {
        p.contains("data-color=\"black\"")
    })
    .await;

    apply(&stack, &["virtual-service-ratings-test-delay.yaml"]);
    until(&stack, Some(&jason), "ratings delayed for jason", |p| {
        p.contains(REVIEWS_ERROR)
    })
    .await;
    // A page wholly under the delay: ratings is held 7 s, reviews v2 waits up to 10 s for it,
    // but productpage gives reviews 3 s per attempt, twice, then gives up.
    let (page, took) = fetch(&stack, Some(&jason)).await;
    assert!(page.contains(REVIEWS_ERROR), "{page}");
    assert!(page.contains(REVIEWS_UNAVAILABLE), "{page}");
    assert!(!has_stars(&page), "{page}");
    assert!(
        took >= Duration::from_millis(5500),
        "two attempts of 3 s each, but the page took {took:?}"
    );

    // Anonymous users are not delayed: their reviews come, without stars (v1).
    let (page, _) = fetch(&stack, None).await;
    assert!(reviews_shown_without_error(&page), "{page}");
    assert!(!has_stars(&page), "{page}");
}

#[tokio::test]
async fn reviews_timeout_cuts_a_slow_ratings_short() {
    // The bound below rests on what these files say: every reviews call goes to v2 (which
    // calls ratings) with a 0.5 s timeout, and every ratings call is held 2 s.
    let timeout = std::fs::read_to_string(scenario("virtual-service-reviews-timeout.yaml"))
        .expect("scenario");
    assert!(
        timeout.contains("subset: v2") && timeout.contains("timeout: 0.5s"),
        "{timeout}"
    );
    assert!(!timeout.contains("match:"), "for every user: {timeout}");
    let delay = std::fs::read_to_string(scenario("virtual-service-ratings-delay-2s.yaml"))
        .expect("scenario");
    assert!(
        delay.contains("fixedDelay: 2s") && delay.contains("value: 100"),
        "{delay}"
    );
    assert!(!delay.contains("match:"), "for every user: {delay}");

    let stack = Stack::start();
    apply(
        &stack,
        &[
            "destination-rule-all.yaml",
            "virtual-service-reviews-timeout.yaml",
            "virtual-service-ratings-delay-2s.yaml",
        ],
    );
    until(&stack, None, "reviews timing out", |p| {
        p.contains(REVIEWS_ERROR)
    })
    .await;
    // A page wholly under the timeout: reviews v2 waits 2 s on ratings, its sidecar answers
    // 504 after 0.5 s, and productpage tries twice.
    let (page, took) = fetch(&stack, None).await;
    assert!(page.contains(REVIEWS_ERROR), "{page}");
    assert!(page.contains(REVIEWS_UNAVAILABLE), "{page}");
    assert!(!has_stars(&page), "{page}");
    assert!(
        took >= Duration::from_millis(900),
        "two attempts cut at 0.5 s each, but the page took {took:?}"
    );
}
