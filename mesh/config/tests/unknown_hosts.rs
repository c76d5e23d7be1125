//! Routes to hosts that no service has: a warning naming the file, line, column and field path,
//! as for a subset that no DestinationRule defines. Istio accepts such a VirtualService, and
//! every request routed there fails, so the warning is the only early sign.

use std::collections::BTreeSet;

use mesh_config::validate::check_hosts;
use mesh_config::{Diagnostic, Severity, load_str};

/// Routes 90/10 to `reviews` and to `reviewz` (a typo, line 15), and mirrors to `ratingz`
/// (line 18).
const VS: &str = "\
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
          weight: 90
        - destination:
            subset: v1
            host: reviewz
          weight: 10
      mirror:
        host: ratingz
";

/// The services of the mesh's registry, qualified as the sidecars qualify them.
fn registry(names: &[&str]) -> BTreeSet<String> {
    names
        .iter()
        .map(|name| mesh_config::host::qualify(name, "default"))
        .collect()
}

fn warnings(texts: &[&str], services: &[&str]) -> Vec<Diagnostic> {
    let mut resources = Vec::new();
    for text in texts {
        let loaded = load_str("routes.yaml", text);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        resources.extend(loaded.resources);
    }
    check_hosts(&resources, &registry(services))
}

#[test]
fn a_route_and_a_mirror_to_unknown_hosts_are_warned_about_where_they_are_written() {
    let found = warnings(&[VS], &["reviews", "ratings", "details"]);
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 2, "{lines:#?}");
    assert!(found.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(
        (found[0].line, found[0].column, found[0].path.as_str()),
        (15, 13, "spec.http[0].route[1].destination.host"),
        "{lines:#?}"
    );
    assert!(
        lines[0].starts_with("routes.yaml:15:13: warning: "),
        "{}",
        lines[0]
    );
    assert!(
        found[0]
            .message
            .contains("no service has host reviewz.default.svc.cluster.local"),
        "{}",
        found[0].message
    );
    assert_eq!(
        (found[1].line, found[1].path.as_str()),
        (18, "spec.http[0].mirror.host"),
        "{lines:#?}"
    );
    assert!(
        found[1]
            .message
            .contains("ratingz.default.svc.cluster.local")
    );
}

#[test]
fn hosts_of_the_registry_and_of_service_entries_are_known() {
    let known = warnings(
        &[&VS
            .replace("reviewz", "reviews")
            .replace("ratingz", "ratings")],
        &["reviews", "ratings"],
    );
    assert!(known.is_empty(), "{known:#?}");

    // A ServiceEntry makes a host known, by name or by wildcard.
    let external = VS
        .replace("reviewz", "api.example.com")
        .replace("ratingz", "httpbin.org");
    let entry = "\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: outside
spec:
  hosts:
    - \"*.example.com\"
    - httpbin.org
";
    let covered = warnings(&[&external, entry], &["reviews"]);
    assert!(covered.is_empty(), "{covered:#?}");
    let uncovered = warnings(&[&external], &["reviews"]);
    assert_eq!(uncovered.len(), 2, "{uncovered:#?}");
}

#[test]
fn a_service_of_another_namespace_is_not_the_one_in_the_registry() {
    let elsewhere = VS
        .replace("reviewz", "reviews.prod.svc.cluster.local")
        .replace("ratingz", "ratings");
    let found = warnings(&[&elsewhere], &["reviews", "ratings"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("reviews.prod.svc.cluster.local"),
        "{}",
        found[0].message
    );
}
