//! The crate's public paths stay where callers name them, whichever file holds the code:
//! `validate::*` (the launcher, the proxy and the fuzz targets call `check_set` and
//! `check_hosts`), `table::*` (the proxy names `Matcher` and `WeightedDestination`), and
//! `load::Report`, now defined in `diagnostics`. Each test also checks what the item does.

use std::any::type_name;

use mesh_config::table::{
    CompiledVirtualService, Matcher, RequestMatch, ResolvedPolicy, WeightedDestination,
};
use mesh_config::validate::{IMPLEMENTED_RETRY_ON, check_duplicates, check_set};
use mesh_config::{Severity, compile, load_str};

/// Two VirtualServices named `reviews` in one file.
const TWICE: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - route:
        - destination: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - route:
        - destination: {host: reviews}
";

#[test]
fn duplicates_in_one_file_are_reported_by_check_duplicates_and_left_to_it_by_check_set() {
    let loaded = load_str("twice.yaml", TWICE);
    let duplicates = check_duplicates(&loaded.resources);
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert_eq!(duplicates[0].line, 14);
    assert!(
        duplicates[0]
            .message
            .contains("already defined at twice.yaml:4")
    );
    // Inside one file the loader has said it already; the checks across files do not repeat it.
    assert!(check_set(&loaded.resources).is_empty());
}

#[test]
fn every_implemented_retry_condition_is_accepted_without_a_warning() {
    let yaml = format!(
        "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
    - route:
        - destination: {{host: ratings}}
      retries:
        attempts: 2
        retryOn: {}
",
        IMPLEMENTED_RETRY_ON.join(",")
    );
    let loaded = load_str("retries.yaml", &yaml);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let with_other = yaml.replace("retryOn: ", "retryOn: cancelled,");
    let loaded = load_str("retries.yaml", &with_other);
    assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
    assert_eq!(loaded.diagnostics[0].severity, Severity::Warning);
}

#[test]
fn the_compiled_table_is_reachable_through_table_paths() {
    let loaded = load_str(
        "regex.yaml",
        "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - match:
        - uri: {regex: '/reviews/[0-9]+'}
      route:
        - destination: {host: reviews, subset: v2}
",
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let table = compile(&loaded.resources);
    let virtual_service: &CompiledVirtualService = &table.virtual_services()[0];
    assert!(virtual_service.uri_regexes.is_some());
    let rule = &virtual_service.rules[0];
    let first_match: &RequestMatch = &rule.matches[0];
    assert!(matches!(first_match.uri, Some(Matcher::UriRegex(0))));
    let destination: &WeightedDestination = &rule.destinations[0];
    assert_eq!(destination.host, "reviews.default.svc.cluster.local");
    assert_eq!(destination.weight, 100);
    let policy: ResolvedPolicy = table.destination_policy(&destination.host, Some("v2"), None);
    assert_eq!(policy, ResolvedPolicy::default());
}

#[test]
fn load_report_names_the_report_of_diagnostics() {
    assert_eq!(
        type_name::<mesh_config::load::Report<'static>>(),
        type_name::<mesh_config::diagnostics::Report<'static>>()
    );
}
