//! The fault variants over a real socket, with their timings shortened through the
//! `RATINGS_FAULT_*` variables. Draws are seeded, so every run sees the same verdicts; the
//! clock-driven variants are observed by polling until each phase has been seen, never by
//! asserting how long something took at most.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{get, post, start};

fn ok_body(id: i64) -> serde_json::Value {
    json!({"id": id, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})
}

fn unavailable() -> (u16, serde_json::Value) {
    (503, json!({"error": "Service unavailable"}))
}

#[tokio::test]
async fn faulty_fails_about_half_of_the_gets_with_a_503() {
    let server = start(&[("SERVICE_VERSION", "v-faulty"), ("RATINGS_FAULT_SEED", "7")]).await;
    let mut failed = 0;
    for _ in 0..200 {
        let answer = get(&server, "/ratings/1").await;
        if answer == unavailable() {
            failed += 1;
        } else {
            assert_eq!(answer, (200, ok_body(1)));
        }
    }
    // With p = 0.5 over 200 draws, anything outside 50..=150 would be a broken coin.
    assert!((50..=150).contains(&failed), "{failed} of 200 failed");
}

#[tokio::test]
async fn faulty_spares_health_and_post() {
    let server = start(&[
        ("SERVICE_VERSION", "v-faulty"),
        ("RATINGS_FAULT_PROBABILITY", "1"),
    ])
    .await;
    assert_eq!(get(&server, "/ratings/1").await, unavailable());
    assert_eq!(get(&server, "/health").await.0, 200);
    let (status, _) = post(&server, "/ratings/1", r#"{"Reviewer1": 2}"#).await;
    assert_eq!(status, 200);
    // Still a 400 for a bad id: the id is checked before the fault, as in Bookinfo.
    assert_eq!(get(&server, "/ratings/x").await.0, 400);
}

#[tokio::test]
async fn delayed_answers_late_but_correctly() {
    let delay = Duration::from_millis(150);
    let server = start(&[
        ("SERVICE_VERSION", "v-delayed"),
        ("RATINGS_FAULT_PROBABILITY", "1"),
        ("RATINGS_FAULT_DELAY_MS", "150"),
    ])
    .await;
    let started = Instant::now();
    assert_eq!(get(&server, "/ratings/2").await, (200, ok_body(2)));
    // A lower bound only: the answer cannot come before the delay is over.
    assert!(
        started.elapsed() >= delay,
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn delayed_with_probability_zero_is_plain_v1() {
    let server = start(&[
        ("SERVICE_VERSION", "v-delayed"),
        ("RATINGS_FAULT_PROBABILITY", "0"),
        // Long enough that the test would hang visibly if a GET were delayed.
        ("RATINGS_FAULT_DELAY_MS", "600000"),
    ])
    .await;
    for id in 0..20 {
        assert_eq!(
            get(&server, &format!("/ratings/{id}")).await,
            (200, ok_body(id))
        );
    }
}

/// Polls GET /ratings/1 and /health until `done` says enough has been seen, or fails after a
/// generous deadline. Returns every (ratings, health) pair of answers seen.
async fn observe(
    server: &testkit::TestServer,
    done: impl Fn(&[((u16, serde_json::Value), (u16, serde_json::Value))]) -> bool,
) -> Vec<((u16, serde_json::Value), (u16, serde_json::Value))> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !done(&seen) {
        assert!(Instant::now() < deadline, "phases not all seen: {seen:?}");
        seen.push((
            get(server, "/ratings/1").await,
            get(server, "/health").await,
        ));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen
}

#[tokio::test]
async fn unavailable_flips_gets_between_working_and_503_but_stays_healthy() {
    let server = start(&[
        ("SERVICE_VERSION", "v-unavailable"),
        ("RATINGS_FAULT_PERIOD_MS", "200"),
    ])
    .await;
    let seen = observe(&server, |seen| {
        // Working, then failing, then working again.
        let first_failure = seen.iter().position(|(r, _)| r.0 == 503);
        first_failure.is_some_and(|i| seen[i..].iter().any(|(r, _)| r.0 == 200))
    })
    .await;
    for (ratings, health) in &seen {
        assert!(
            *ratings == (200, ok_body(1)) || *ratings == unavailable(),
            "{ratings:?}"
        );
        assert_eq!(*health, (200, json!({"status": "Ratings is healthy"})));
    }
}

#[tokio::test]
async fn unhealthy_flips_gets_and_health_together() {
    let server = start(&[
        ("SERVICE_VERSION", "v-unhealthy"),
        ("RATINGS_FAULT_PERIOD_MS", "200"),
    ])
    .await;
    let seen = observe(&server, |seen| {
        let first_sick = seen.iter().position(|(_, h)| h.0 == 500);
        let recovered = first_sick.is_some_and(|i| seen[i..].iter().any(|(_, h)| h.0 == 200));
        recovered && seen.iter().any(|(r, _)| r.0 == 503)
    })
    .await;
    for (ratings, health) in &seen {
        assert!(
            *ratings == (200, ok_body(1)) || *ratings == unavailable(),
            "{ratings:?}"
        );
        assert!(
            *health == (200, json!({"status": "Ratings is healthy"}))
                || *health == (500, json!({"status": "Ratings is not healthy"})),
            "{health:?}"
        );
    }
}
