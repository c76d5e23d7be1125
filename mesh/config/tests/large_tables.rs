//! Tables with many rules: the URI regexes of a VirtualService are compiled together, in
//! groups (see `table/regexes.rs`), and routing must still mean what Istio means: rules tried
//! in order, the first whose conditions all hold wins, a regex matches the whole path.

use std::collections::BTreeMap;

use mesh_config::{RequestView, RouteTable, compile, load_str};

/// Rule `i` of [`table`]: what it matches, as a `match` entry in YAML flow style.
fn condition(i: usize) -> String {
    match i {
        // A regex together with a header: the regex matches many paths, the header few requests.
        1 => "{uri: {regex: \"/r/.*\"}, headers: {x-pick: {exact: \"yes\"}}}".to_owned(),
        // A broad regex in the middle shadows the narrower ones after it, in other groups.
        500 => "{uri: {regex: \"/r/9[0-9]*/.*\"}}".to_owned(),
        _ if i.is_multiple_of(2) => format!("{{uri: {{regex: \"/r/{i}/[a-z]+\"}}}}"),
        _ => format!("{{uri: {{prefix: \"/p/{i}/\"}}}}"),
    }
}

/// One VirtualService `svc` with `rules` rules, each routing to subset `r<i>`, then a catch-all.
fn table(rules: usize) -> RouteTable {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: svc\nspec:\n  hosts: [svc]\n  http:\n",
    );
    for i in 0..rules {
        text.push_str(&format!(
            "    - match: [{}]\n      route:\n        - destination: {{host: svc, subset: r{i}}}\n",
            condition(i)
        ));
    }
    text.push_str("    - route:\n        - destination: {host: svc, subset: other}\n");
    let loaded = load_str("many.yaml", &text);
    assert!(!loaded.has_errors(), "{:#?}", loaded.errors().next());
    compile(&loaded.resources)
}

/// The subset the request for `path` (with `headers`) is routed to.
fn landed(table: &RouteTable, path: &str, headers: &[(&str, &str)]) -> String {
    let labels = BTreeMap::new();
    let view = RequestView {
        host: "svc",
        port: 9080,
        method: "GET",
        path,
        query: "",
        headers: &headers,
        source_labels: &labels,
        gateway: None,
    };
    table
        .route(&view)
        .and_then(|decision| decision.rule.destinations[0].subset.clone())
        .unwrap_or_default()
}

#[test]
fn a_thousand_rules_with_regexes_keep_istio_order() {
    let table = table(1000);
    // Regexes in the first group, in later groups, and prefixes between them.
    assert_eq!(landed(&table, "/r/0/abc", &[]), "r0");
    assert_eq!(landed(&table, "/r/100/abc", &[]), "r100");
    assert_eq!(
        landed(&table, "/r/998/abc", &[]),
        "r500",
        "the broad rule 500 comes first"
    );
    assert_eq!(landed(&table, "/r/802/xyz", &[]), "r802");
    assert_eq!(landed(&table, "/p/777/any/thing", &[]), "r777");
    // A regex matches the whole path, not a part of it.
    assert_eq!(landed(&table, "/r/100/ABC", &[]), "other");
    assert_eq!(landed(&table, "/x/r/100/abc", &[]), "other");
    // The regex of rule 1 matches, but its header condition decides.
    assert_eq!(landed(&table, "/r/100/abc", &[("x-pick", "yes")]), "r1");
    assert_eq!(landed(&table, "/r/100/abc", &[("x-pick", "no")]), "r100");
}

#[test]
fn one_table_answers_many_requests_in_any_order() {
    let table = table(300);
    // The same table, asked again and again: what one request found is not kept for the next.
    for round in 0..3 {
        for i in (0..300).step_by(2) {
            let want = format!("r{i}");
            assert_eq!(
                landed(&table, &format!("/r/{i}/ok"), &[]),
                want,
                "round {round}"
            );
        }
    }
}
