//! End to end: the dashboard `sailkit up` serves reads the stack's own sources. After
//! `sailkit apply` of `virtual-service-reviews-test-v2.yaml`, reviews-v2's page shows the
//! VirtualService `reviews` from the control plane (given once it listened, on an OS-chosen
//! port) and ratings-v1's does not; a product page's trace shows the access log lines its
//! sidecars wrote in `<data-dir>/logs`.

mod support;

use support::{Stack, apply, http, page};

async fn get(url: &str) -> String {
    let response = http().get(url).send().await.expect("the dashboard answers");
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.expect("a page")
}

#[tokio::test]
async fn the_dashboard_shows_the_routing_in_force_and_the_access_log_lines() {
    let stack = Stack::start();
    let dashboard = stack.state.dashboard.clone().expect("a dashboard").url;
    apply(
        &stack,
        &[
            "destination-rule-all.yaml",
            "virtual-service-reviews-test-v2.yaml",
        ],
    );

    let reviews = get(&format!("{dashboard}/workloads/default/reviews-v2")).await;
    assert!(
        reviews.contains(r#"data-kind="VirtualService" data-name="reviews" data-file="virtual-service-reviews-test-v2.yaml""#),
        "{reviews}"
    );
    let ratings = get(&format!("{dashboard}/workloads/default/ratings-v1")).await;
    assert!(
        ratings.contains(r#"data-kind="DestinationRule" data-name="ratings""#),
        "{ratings}"
    );
    assert!(
        !ratings.contains(r#"data-kind="VirtualService""#),
        "{ratings}"
    );

    // A product page: productpage's sidecar logs its calls, each line ending with the trace id.
    page(&stack, None).await;
    let deadline = std::time::Instant::now() + support::IN_FORCE_TIMEOUT;
    loop {
        let traces = get(&format!("{dashboard}/traces?service=productpage")).await;
        let ids: Vec<&str> = traces
            .split(r#"data-trace-id=""#)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        for id in ids {
            let trace = get(&format!("{dashboard}/traces/{id}")).await;
            if trace.contains(r#"<tr class="log-line" data-hop="productpage-v1-sidecar""#) {
                assert!(trace.contains("GET /reviews/0"), "{trace}");
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no trace with productpage-v1-sidecar's lines:\n{traces}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
