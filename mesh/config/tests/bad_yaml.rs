//! One test per class of mistake: each must name the file, the line (and column) and the field
//! path, so a learner can go straight to it.

use mesh_config::{Diagnostic, Severity, load_str};

/// A VirtualService with weights on lines 13 and 17 (the line numbers below count on it).
const GOOD: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
    - route:
        - destination:
            host: reviews
            subset: v1
          weight: 80
        - destination:
            host: reviews
            subset: v2
          weight: 20
";

/// The only diagnostic of `text`, which must be an error.
fn single_error(text: &str) -> Diagnostic {
    let loaded = load_str("bad.yaml", text);
    let errors: Vec<&Diagnostic> = loaded.errors().collect();
    assert_eq!(
        errors.len(),
        1,
        "expected one error, got {:#?}",
        loaded.diagnostics
    );
    assert!(
        loaded.resources.is_empty(),
        "a resource with an error is not kept"
    );
    errors[0].clone()
}

fn assert_at(d: &Diagnostic, line: usize, path: &str, message_part: &str) {
    assert_eq!(d.file, "bad.yaml");
    assert_eq!((d.line, d.path.as_str()), (line, path), "{d}");
    assert!(
        d.message.contains(message_part),
        "{d} should mention {message_part:?}"
    );
    // The printed form leads with file:line:column, the way compilers do.
    assert!(
        d.to_string()
            .starts_with(&format!("bad.yaml:{line}:{}: error: ", d.column)),
        "{d}"
    );
}

#[test]
fn the_good_file_is_good() {
    let loaded = load_str("good.yaml", GOOD);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.resources.len(), 1);
}

#[test]
fn malformed_yaml() {
    let d = single_error(&GOOD.replace("          weight: 20", "          weight: [20"));
    // The parser reports the bracket that was never closed.
    assert_eq!((d.line, d.column), (17, 19), "{d}");
    assert!(d.message.starts_with("malformed YAML"), "{d}");
    let d = single_error(&GOOD.replace("  hosts:", "  hosts:\n\t- tab"));
    assert_eq!(d.line, 7, "{d}");
}

#[test]
fn unknown_field_is_a_typo_not_a_silent_default() {
    let d = single_error(&GOOD.replace("          weight: 20", "          wieght: 20"));
    assert_at(
        &d,
        17,
        "spec.http[0].route[1].wieght",
        "unknown field `wieght`",
    );
    assert_eq!(d.column, 11);
}

#[test]
fn wrong_type() {
    let d = single_error(&GOOD.replace("weight: 20", "weight: twenty"));
    assert_at(&d, 17, "spec.http[0].route[1].weight", "invalid type");
    let d = single_error(&GOOD.replace("    - reviews", "    reviews: 1"));
    assert_at(&d, 6, "spec.hosts", "invalid type");
}

#[test]
fn negative_weight() {
    let d = single_error(&GOOD.replace("weight: 80", "weight: -80"));
    assert_at(&d, 13, "spec.http[0].route[0].weight", "invalid value");
}

#[test]
fn weights_that_do_not_add_up_to_100() {
    let d = single_error(&GOOD.replace("weight: 20", "weight: 30"));
    assert_at(&d, 9, "spec.http[0].route", "add up to 110");
    let d = single_error(
        &GOOD
            .replace("weight: 80", "weight: 0")
            .replace("weight: 20", "weight: 120"),
    );
    assert_at(&d, 17, "spec.http[0].route[1].weight", "outside 0..=100");
    // A lone destination takes everything, whatever its weight says (as in Istio).
    let lone = GOOD.replace("        - destination:\n            host: reviews\n            subset: v2\n          weight: 20\n", "");
    assert!(
        load_str("lone.yaml", &lone.replace("weight: 80", "weight: 5"))
            .diagnostics
            .is_empty()
    );
}

const DELAY: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
    - fault:
        delay:
          fixedDelay: 7s
          percentage:
            value: 100.0
      route:
        - destination: {host: ratings, subset: v1}
";

#[test]
fn bad_duration() {
    let d = single_error(&DELAY.replace("fixedDelay: 7s", "fixedDelay: 7"));
    assert_at(
        &d,
        10,
        "spec.http[0].fault.delay.fixedDelay",
        "invalid duration",
    );
    let d = single_error(&DELAY.replace("fixedDelay: 7s", "fixedDelay: 7 parsecs"));
    assert_at(
        &d,
        10,
        "spec.http[0].fault.delay.fixedDelay",
        "unknown unit",
    );
}

#[test]
fn bad_percentage() {
    let d = single_error(&DELAY.replace("value: 100.0", "value: 150"));
    assert_at(
        &d,
        11,
        "spec.http[0].fault.delay.percentage",
        "outside 0..=100",
    );
    let d = single_error(&DELAY.replace("value: 100.0", "value: -1"));
    assert_at(
        &d,
        11,
        "spec.http[0].fault.delay.percentage",
        "outside 0..=100",
    );
}

const DR: &str = "\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: RANDOM
  subsets:
    - name: v1
      labels: {version: v1}
";

#[test]
fn unknown_enum_value() {
    let d = single_error(&DR.replace("simple: RANDOM", "simple: FASTEST"));
    assert_at(
        &d,
        9,
        "spec.trafficPolicy.loadBalancer.simple",
        "unknown variant `FASTEST`",
    );
    assert!(
        d.message.contains("ROUND_ROBIN"),
        "the message lists the valid values: {d}"
    );
}

#[test]
fn missing_required_fields() {
    let d = single_error(&DR.replace("  host: reviews\n", ""));
    assert_at(&d, 5, "spec", "missing field `host`");
    let vs = GOOD.replace("  hosts:\n    - reviews\n", "");
    let d = single_error(&vs);
    assert_at(&d, 5, "spec", "missing field `hosts`");
    let d = single_error(&GOOD.replace("  hosts:\n    - reviews\n", "  hosts: []\n"));
    assert_at(&d, 6, "spec.hosts", "at least one host");
}

#[test]
fn invalid_regex() {
    let text = GOOD.replace(
        "    - route:",
        "    - match:\n        - uri:\n            regex: \"/api/(v1\"\n      route:",
    );
    let d = single_error(&text);
    assert_at(&d, 11, "spec.http[0].match[0].uri.regex", "invalid regex");
}

#[test]
fn two_string_matches_at_once() {
    let text = GOOD.replace(
        "    - route:",
        "    - match:\n        - uri:\n            exact: /a\n            prefix: /b\n      route:",
    );
    let d = single_error(&text);
    assert_at(&d, 10, "spec.http[0].match[0].uri", "only one of");
}

#[test]
fn unsupported_field_is_a_warning_not_an_error() {
    let text = GOOD.replace("    - route:", "    - corsPolicy:\n        allowOrigins:\n          - exact: https://example.com\n      route:");
    let loaded = load_str("cors.yaml", &text);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.resources.len(), 1, "the resource is kept");
    let [warning] = loaded.diagnostics.as_slice() else {
        panic!("one warning: {:#?}", loaded.diagnostics)
    };
    assert_eq!(warning.severity, Severity::Warning);
    assert_eq!(
        (warning.line, warning.path.as_str()),
        (9, "spec.http[0].corsPolicy")
    );
    assert!(
        warning
            .to_string()
            .starts_with("cors.yaml:9:7: warning: spec.http[0].corsPolicy: "),
        "{warning}"
    );
}

#[test]
fn tcp_routes_are_a_warning() {
    let text = format!("{GOOD}  tcp:\n    - route:\n        - destination: {{host: reviews}}\n");
    let loaded = load_str("tcp.yaml", &text);
    assert!(!loaded.has_errors());
    assert_eq!(loaded.diagnostics[0].path, "spec.tcp");
    assert_eq!(loaded.diagnostics[0].line, 18);
}

#[test]
fn multi_document_file_points_into_the_bad_document() {
    let text = format!(
        "# two documents\n{DR}---\n{}",
        GOOD.replace("weight: 20", "wieght: 20")
    );
    let loaded = load_str("multi.yaml", &text);
    assert_eq!(loaded.resources.len(), 1, "the good document is kept");
    let errors: Vec<&Diagnostic> = loaded.errors().collect();
    assert_eq!(errors.len(), 1, "{:#?}", loaded.diagnostics);
    // Line 1 is the comment, the DestinationRule takes 12 lines, `---` is line 14: the
    // VirtualService's line 17 is the file's line 31.
    assert_eq!(
        (errors[0].line, errors[0].path.as_str()),
        (31, "spec.http[0].route[1].wieght")
    );
}

#[test]
fn duplicate_names_in_one_file() {
    let text = format!("{GOOD}---\n{GOOD}");
    let loaded = load_str("dup.yaml", &text);
    let errors: Vec<&Diagnostic> = loaded.errors().collect();
    assert_eq!(errors.len(), 1, "{:#?}", loaded.diagnostics);
    assert_eq!(
        (errors[0].line, errors[0].path.as_str()),
        (22, "metadata.name")
    );
    assert!(
        errors[0].message.contains("already defined at dup.yaml:4"),
        "{}",
        errors[0]
    );
}

#[test]
fn duplicate_yaml_key() {
    let d = single_error(&GOOD.replace(
        "          weight: 20",
        "          weight: 20\n          weight: 30",
    ));
    assert_eq!(d.line, 18, "{d}");
    assert!(d.message.contains("duplicate key `weight`"), "{d}");
}

#[test]
fn other_kinds_are_skipped_with_a_note() {
    let deployment =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: reviews-v1\nspec: {}\n";
    let loaded = load_str("mixed.yaml", &format!("{deployment}---\n{GOOD}"));
    assert!(!loaded.has_errors());
    assert_eq!(loaded.resources.len(), 1);
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(
        (loaded.diagnostics[0].severity, loaded.diagnostics[0].line),
        (Severity::Info, 2)
    );
}

#[test]
fn unknown_api_version_and_kind() {
    let d = single_error(&GOOD.replace("networking.istio.io/v1", "networking.istio.io/v2"));
    assert_at(&d, 1, "apiVersion", "unknown version");
    let d = single_error(&GOOD.replace("kind: VirtualService", "kind: VirtualServce"));
    assert_at(&d, 2, "kind", "unknown kind");
}

#[test]
fn older_api_versions_load() {
    for version in ["v1beta1", "v1alpha3"] {
        let loaded = load_str("old.yaml", &GOOD.replace("/v1\n", &format!("/{version}\n")));
        assert!(
            loaded.diagnostics.is_empty(),
            "{version}: {:#?}",
            loaded.diagnostics
        );
        assert_eq!(
            loaded.resources[0].api_version,
            format!("networking.istio.io/{version}")
        );
    }
}

#[test]
fn deprecated_integer_percent_is_read() {
    let text = DELAY.replace(
        "          percentage:\n            value: 100.0\n",
        "          percent: 30\n",
    );
    let loaded = load_str("old.yaml", &text);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let table = mesh_config::compile(&loaded.resources);
    let rule = &table.virtual_services()[0].rules[0];
    assert_eq!(
        rule.fault.and_then(|f| f.delay).map(|d| d.percent),
        Some(30.0)
    );
}

#[test]
fn unknown_retry_condition() {
    let text = GOOD.replace(
        "    - route:",
        "    - retries:\n        attempts: 3\n        retryOn: 5xx,sometimes\n      route:",
    );
    let d = single_error(&text);
    assert_at(&d, 11, "spec.http[0].retries.retryOn", "\"sometimes\"");
}

#[test]
fn an_unreadable_file_is_a_diagnostic() {
    let loaded = mesh_config::load_file("/nonexistent/sailkit/file.yaml");
    assert!(loaded.has_errors());
    assert!(
        loaded.diagnostics[0]
            .to_string()
            .starts_with("/nonexistent/sailkit/file.yaml:1:1: error: cannot read")
    );
}
