//! The checks of `sailkit analyze` beyond the schema, each on a small set of files, and
//! [`analyze`] tagging each finding with Istio's code and the resource it is about. Every k8s/
//! scenario file that should be clean is.

use std::collections::BTreeMap;

use mesh_config::validate::{
    Code, Workload, analyze, check_gateway_hosts, check_gateway_refs, check_ineffective_matches,
    check_subset_labels, check_unreachable_rules,
};
use mesh_config::{Diagnostic, Loaded, Resource, Severity, load_str};

fn resources(texts: &[&str]) -> Vec<Resource> {
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let loaded = load_str(&format!("file{i}.yaml"), text);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        out.extend(loaded.resources);
    }
    out
}

fn at(d: &Diagnostic) -> String {
    format!(
        "{}:{}:{} {} {}",
        d.file, d.line, d.column, d.severity, d.path
    )
}

/// Rule 1 has no match (a catch-all); rules 2 and 3 come after it.
const AFTER_CATCH_ALL: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - match:
        - headers:
            end-user: {exact: jason}
      route:
        - destination: {host: reviews, subset: v2}
    - route:
        - destination: {host: reviews, subset: v1}
    - name: never
      match:
        - uri: {prefix: /api}
      route:
        - destination: {host: reviews, subset: v3}
    - route:
        - destination: {host: reviews, subset: v3}
";

#[test]
fn a_rule_after_a_catch_all_is_unreachable() {
    let found = check_unreachable_rules(&resources(&[AFTER_CATCH_ALL]));
    let shown: Vec<String> = found.iter().map(at).collect();
    assert_eq!(
        shown,
        [
            "file0.yaml:15:7 warning spec.http[2]",
            "file0.yaml:20:7 warning spec.http[3]"
        ],
        "{found:#?}"
    );
    assert!(
        found[0]
            .message
            .contains("rule #2 (never) is never used: #1 before it matches every request"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_prefix_of_slash_or_an_empty_entry_catches_all_too() {
    let text = AFTER_CATCH_ALL.replace(
        "    - route:\n        - destination: {host: reviews, subset: v1}\n",
        "    - match:\n        - uri: {prefix: /}\n      route:\n        - destination: {host: reviews, subset: v1}\n",
    );
    assert_eq!(check_unreachable_rules(&resources(&[&text])).len(), 2);
    let empty_entry = AFTER_CATCH_ALL.replace(
        "    - route:\n        - destination: {host: reviews, subset: v1}\n",
        "    - match:\n        - uri: {prefix: /x}\n        - {}\n      route:\n        - destination: {host: reviews, subset: v1}\n",
    );
    assert_eq!(
        check_unreachable_rules(&resources(&[&empty_entry])).len(),
        2
    );
    // A catch-all last is Bookinfo's normal shape: nothing to say.
    let last = AFTER_CATCH_ALL
        .split("    - name: never")
        .next()
        .unwrap_or_default();
    assert!(
        check_unreachable_rules(&resources(&[last])).is_empty(),
        "{last}"
    );
}

/// Rule 1 repeats rule 0's match (unreachable); rule 2 repeats it in one of two entries.
const COPIED_MATCHES: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
    - match:
        - headers:
            end-user: {exact: jason}
      route:
        - destination: {host: ratings}
    - match:
        - name: again
          headers:
            end-user: {exact: jason}
      route:
        - destination: {host: ratings}
    - match:
        - uri: {prefix: /ratings}
        - headers:
            end-user: {exact: jason}
      route:
        - destination: {host: ratings}
";

#[test]
fn copied_matches_make_a_rule_unreachable_or_a_match_ineffective() {
    let set = resources(&[COPIED_MATCHES]);
    let unreachable = check_unreachable_rules(&set);
    assert_eq!(
        unreachable.iter().map(at).collect::<Vec<_>>(),
        ["file0.yaml:12:7 warning spec.http[1]"]
    );
    assert!(
        unreachable[0]
            .message
            .contains("each of its matches is already in an earlier rule")
    );
    let ineffective = check_ineffective_matches(&set);
    assert_eq!(
        ineffective.iter().map(at).collect::<Vec<_>>(),
        ["file0.yaml:20:11 info spec.http[2].match[1]"]
    );
    assert!(
        ineffective[0]
            .message
            .contains("rule #0 has the same match")
    );
}

const GATEWAY: &str = "\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
    - port: {number: 8080, name: http, protocol: HTTP}
      hosts: [bookinfo.example.com]
";

fn bound_vs(gateway: &str, host: &str) -> String {
    format!(
        "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: bookinfo}}
spec:
  hosts: [\"{host}\"]
  gateways: [{gateway}]
  http:
    - route:
        - destination: {{host: productpage}}
"
    )
}

#[test]
fn a_virtual_service_bound_to_a_missing_gateway() {
    let vs = bound_vs("bookinfo-gatewy", "bookinfo.example.com");
    let found = check_gateway_refs(&resources(&[GATEWAY, &vs]));
    assert_eq!(
        found.iter().map(at).collect::<Vec<_>>(),
        ["file1.yaml:6:14 warning spec.gateways[0]"]
    );
    assert!(
        found[0]
            .message
            .starts_with("Referenced gateway not found: \"bookinfo-gatewy\""),
        "{}",
        found[0].message
    );
    // Spelled right, in another namespace's form, or `mesh`: nothing.
    for gateway in ["bookinfo-gateway", "default/bookinfo-gateway", "mesh"] {
        let vs = bound_vs(gateway, "bookinfo.example.com");
        assert!(check_gateway_refs(&resources(&[GATEWAY, &vs])).is_empty());
    }
    // Without the Gateway resource at all.
    let vs = bound_vs("bookinfo-gateway", "bookinfo.example.com");
    assert_eq!(check_gateway_refs(&resources(&[&vs])).len(), 1);
}

#[test]
fn a_virtual_service_whose_hosts_its_gateway_does_not_list() {
    let vs = bound_vs("bookinfo-gateway", "shop.example.com");
    let found = check_gateway_hosts(&resources(&[GATEWAY, &vs]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .message
            .contains("Gateway default/bookinfo-gateway")
    );
    for host in ["bookinfo.example.com", "*.example.com", "*"] {
        let vs = bound_vs("bookinfo-gateway", host);
        assert!(
            check_gateway_hosts(&resources(&[GATEWAY, &vs])).is_empty(),
            "{host}"
        );
    }
}

const SUBSETS: &str = "\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
    - name: v1
      labels: {version: v1}
    - name: v4
      labels: {version: v4}
";

fn workload(name: &str, service: &str, version: &str) -> Workload {
    Workload {
        name: name.into(),
        service: mesh_config::host::qualify(service, "default"),
        labels: BTreeMap::from([
            ("app".to_owned(), service.to_owned()),
            ("version".to_owned(), version.to_owned()),
        ]),
    }
}

#[test]
fn a_subset_whose_labels_no_workload_has() {
    let workloads = [
        workload("reviews-v1", "reviews", "v1"),
        workload("reviews-v2", "reviews", "v2"),
        workload("ratings-v4", "ratings", "v4"),
    ];
    let found = check_subset_labels(&resources(&[SUBSETS]), &workloads);
    assert_eq!(
        found.iter().map(at).collect::<Vec<_>>(),
        ["file0.yaml:10:7 warning spec.subsets[1].labels"]
    );
    assert!(
        found[0].message.contains("subset \"v4\"")
            && found[0]
                .message
                .contains("reviews-v2 app=reviews,version=v2"),
        "{}",
        found[0].message
    );
    // No workload of the host at all: not this check's business.
    assert!(check_subset_labels(&resources(&[SUBSETS]), &workloads[2..]).is_empty());
}

#[test]
fn analyze_tags_codes_and_resources_and_skips_workload_checks_without_workloads() {
    let mut loaded = Loaded::default();
    for (name, text) in [
        ("rules.yaml", AFTER_CATCH_ALL),
        ("dr.yaml", SUBSETS),
        (
            "bad.yaml",
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [x]\n  htp: []\n",
        ),
    ] {
        let one = load_str(name, text);
        loaded.resources.extend(one.resources);
        loaded.diagnostics.extend(one.diagnostics);
    }
    let without = analyze(&loaded, None);
    let codes = |findings: &[mesh_config::validate::Finding]| {
        findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f.code.map_or("-", Code::id),
                    f.resource.as_deref().unwrap_or("-"),
                    f.diagnostic.file
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        codes(&without),
        [
            "IST0106 - bad.yaml",
            // The routes to subsets v2 and v3, which the DestinationRule does not define, and
            // the two rules after the catch-all.
            "IST0101 VirtualService default/reviews rules.yaml",
            "IST0130 VirtualService default/reviews rules.yaml",
            "IST0101 VirtualService default/reviews rules.yaml",
            "IST0130 VirtualService default/reviews rules.yaml",
            "IST0101 VirtualService default/reviews rules.yaml",
        ]
    );
    let workloads = [workload("reviews-v1", "reviews", "v1")];
    let with = analyze(&loaded, Some(&workloads));
    let shown = codes(&with);
    assert!(
        shown.contains(&"IST0127 DestinationRule default/reviews dr.yaml".to_owned()),
        "{shown:#?}"
    );
    assert!(
        with.iter().all(|f| f.diagnostic.severity != Severity::Error
            || f.code == Some(Code::SchemaValidationError))
    );
}

#[test]
fn bookinfo_scenarios_are_clean() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../k8s/networking");
    for name in [
        "bookinfo-gateway.yaml",
        "virtual-service-all-v1.yaml",
        "virtual-service-reviews-jason-v2-v3.yaml",
        "virtual-service-reviews-test-v2.yaml",
        "virtual-service-ratings-test-abort.yaml",
    ] {
        let mut loaded = mesh_config::load_file(format!("{dir}/destination-rule-all.yaml"));
        let one = mesh_config::load_file(format!("{dir}/{name}"));
        loaded.resources.extend(one.resources);
        loaded.diagnostics.extend(one.diagnostics);
        let workloads: Vec<Workload> = ["productpage", "details", "ratings"]
            .iter()
            .map(|s| workload(&format!("{s}-v1"), s, "v1"))
            .chain(["v1", "v2", "v3"].map(|v| workload(&format!("reviews-{v}"), "reviews", v)))
            .chain([workload("ratings-v2", "ratings", "v2")])
            .collect();
        let findings: Vec<_> = analyze(&loaded, Some(&workloads))
            .into_iter()
            .filter(|f| f.code != Some(Code::SchemaWarning))
            .collect();
        // destination-rule-all.yaml defines ratings v2-mysql and v2-mysql-vm and details v2,
        // which do not run in the local stack: the one finding expected, three times.
        assert!(
            findings
                .iter()
                .all(|f| f.code == Some(Code::NoMatchingWorkloadsFound)),
            "{name}: {findings:#?}"
        );
        assert_eq!(findings.len(), 3, "{name}: {findings:#?}");
    }
}

/// 10,000 rules in one VirtualService (as `scripts/bench-routes.sh` loads): the rule checks
/// look at each entry once (comparing each rule with every earlier one would take minutes). The
/// last rule copies the first: found. The time is printed (`--nocapture`), not asserted.
#[test]
fn ten_thousand_rules_are_checked_in_one_pass() {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for i in 0..10_000 {
        text += &format!(
            "    - match:\n        - uri: {{exact: /r{i}}}\n      route:\n        - destination: {{host: big}}\n"
        );
    }
    text += "    - match:\n        - uri: {exact: /r0}\n      route:\n        - destination: {host: big}\n";
    let set = resources(&[&text]);
    let started = std::time::Instant::now();
    let unreachable = check_unreachable_rules(&set);
    let ineffective = check_ineffective_matches(&set);
    let took = started.elapsed();
    assert_eq!(unreachable.len(), 1, "{unreachable:#?}");
    assert_eq!(unreachable[0].path, "spec.http[10000]");
    assert!(ineffective.is_empty());
    println!("10,000 rules checked in {took:?}");
}
