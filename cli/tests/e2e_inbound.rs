//! End to end: with `sailkit up --inbound`, every sidecar also stands in front of its instance, the
//! registry lists those inbound addresses, and so a call between two services crosses the
//! caller's sidecar and then the callee's, as in Istio.

mod support;

use std::collections::BTreeSet;

use support::{Stack, fetch, sidecar, stat};

#[tokio::test]
async fn peers_and_the_front_door_reach_each_instance_through_its_inbound_sidecar() {
    let stack = Stack::start_with(&["--inbound"]);

    // Every sidecar has an inbound listener, not the instance's own address.
    let mut inbound = BTreeSet::new();
    for instance in &stack.state.instances {
        let sidecar = instance.sidecar.as_ref().expect("a sidecar");
        let address = sidecar.inbound.clone().expect("an inbound listener");
        assert_ne!(address, instance.url, "{}", instance.name);
        inbound.insert(address.trim_start_matches("http://").to_string());
    }

    // The registry (what the sidecars route to) lists the inbound addresses.
    let registry = stack.registry();
    let listed: BTreeSet<String> = registry["services"]
        .as_array()
        .expect("services")
        .iter()
        .flat_map(|s| s["endpoints"].as_array().expect("endpoints").iter())
        .map(|e| e["address"].as_str().expect("address").to_string())
        .collect();
    assert_eq!(listed, inbound);

    // Pages through the front door: details and ratings make no calls of their own, so whatever
    // their sidecars count came in through the inbound side.
    let admin_of = |name: &str| sidecar(&stack.state, name).admin;
    let before = stat(&admin_of("details-v1"), "requests").await;
    let pages = 6;
    for _ in 0..pages {
        let (page, _) = fetch(&stack, None).await;
        assert!(
            page.contains("PublisherA") && page.contains("Reviewer1"),
            "{page}"
        );
    }
    let details = stat(&admin_of("details-v1"), "requests").await - before;
    assert!(
        details >= pages,
        "details-v1's inbound saw {details} requests"
    );
    let ratings = stat(&admin_of("ratings-v1"), "requests").await
        + stat(&admin_of("ratings-v2"), "requests").await;
    assert!(
        ratings > 0,
        "ratings is reached through its inbound sidecar"
    );
    // The front door (the productpage VIP) sends to productpage's inbound listener too.
    let productpage = stat(&admin_of("productpage-v1"), "requests").await;
    assert!(
        productpage >= 3 * pages,
        "productpage-v1's sidecar: {pages} pages in, and details and reviews calls out: {productpage}"
    );
}
