//! End to end: `match[].sourceLabels` in the running mesh. Every sidecar is started with its
//! instance's labels (`app`, `version`), so a rule can pick calls by who makes them:
//! `virtual-service-ratings-reviews-v3-abort.yaml` fails the ratings calls of reviews v3 only.

mod support;

use std::collections::BTreeSet;

use support::{Stack, apply, page, until};

/// What reviews shows in place of the stars when ratings fails.
const RATINGS_UNAVAILABLE: &str = "Ratings service is currently unavailable";

/// The colours of the stars on a page (`black`: reviews v2, `red`: reviews v3).
fn star_colors(page: &str) -> BTreeSet<String> {
    page.split("data-color=\"")
        .skip(1)
        .filter_map(|rest| Some(rest.split_once('"')?.0.to_string()))
        .collect()
}

#[tokio::test]
async fn ratings_calls_from_reviews_v3_fail_while_those_from_v2_succeed() {
    let stack = Stack::start();
    apply(
        &stack,
        &[
            "destination-rule-all.yaml",
            "virtual-service-ratings-reviews-v3-abort.yaml",
        ],
    );

    // In force once a page shows the failure (reviews v3's, the only caller it applies to).
    until(&stack, None, "the rule in force", |p| {
        p.contains(RATINGS_UNAVAILABLE)
    })
    .await;

    // Reviews takes turns over v1, v2 and v3: v2's black stars stay, v3's red ones are gone.
    let (mut black, mut unavailable) = (0, 0);
    for _ in 0..12 {
        let page = page(&stack, None).await;
        let colors = star_colors(&page);
        assert!(
            !colors.contains("red"),
            "reviews v3 reached ratings: {page}"
        );
        black += usize::from(colors.contains("black"));
        unavailable += usize::from(page.contains(RATINGS_UNAVAILABLE));
    }
    assert!(black > 0, "reviews v2's calls get through");
    assert!(unavailable > 0, "reviews v3's calls fail");
}
