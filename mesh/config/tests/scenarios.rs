//! Every file in `k8s/networking/` loads without errors and means what Istio means.
//!
//! The table below has one entry per file; a file without an entry fails
//! `every_file_has_an_expectation`, so a new scenario cannot slip in untested.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mesh_config::model::{SimpleLb, Spec, TlsMode};
use mesh_config::{
    Loaded, Lookup, RequestView, RouteTable, Severity, compile, load_file, load_files,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../k8s/networking")
}

fn load(name: &str) -> Loaded {
    let loaded = load_file(dir().join(name));
    let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
    assert!(
        errors.is_empty(),
        "{name} has errors:\n{}",
        errors.join("\n")
    );
    loaded
}

fn table(name: &str) -> RouteTable {
    compile(&load(name).resources)
}

const NO_LABELS: &BTreeMap<String, String> = &BTreeMap::new();

/// A sidecar-side request to `host` at `path`, with headers.
fn request<'a>(
    host: &'a str,
    path: &'a str,
    headers: &'a &'a [(&'a str, &'a str)],
) -> RequestView<'a> {
    RequestView {
        host,
        port: 9080,
        method: "GET",
        path,
        query: "",
        headers,
        source_labels: NO_LABELS,
        gateway: None,
    }
}

const JASON: &[(&str, &str)] = &[("end-user", "jason")];
const ANON: &[(&str, &str)] = &[];

fn fqdn(service: &str) -> String {
    format!("{service}.default.svc.cluster.local")
}

/// The single destination (host, subset) a request gets, with a check that there is only one.
fn only_destination(table: &RouteTable, request: &RequestView<'_>) -> (String, Option<String>) {
    let decision = table.route(request).expect("a rule matches");
    assert_eq!(
        decision.rule.destinations.len(),
        1,
        "expected one destination"
    );
    let d = &decision.rule.destinations[0];
    assert_eq!(d.weight, 100);
    (d.host.clone(), d.subset.clone())
}

fn goes_to(table: &RouteTable, service: &str, headers: &&[(&str, &str)], subset: &str) {
    let got = only_destination(table, &request(service, "/", headers));
    assert_eq!(
        got,
        (fqdn(service), Some(subset.to_owned())),
        "{service} with {headers:?}"
    );
}

/// Weighted split: (subset, weight) pairs in order, and `choose` honours them.
fn split(table: &RouteTable, service: &str, want: &[(&str, u32)]) {
    let decision = table
        .route(&request(service, "/", &ANON))
        .expect("a rule matches");
    let got: Vec<(&str, u32)> = decision
        .rule
        .destinations
        .iter()
        .map(|d| (d.subset.as_deref().unwrap_or(""), d.weight))
        .collect();
    assert_eq!(got, want);
    let (first, first_weight) = want[0];
    let boundary = f64::from(first_weight) / 100.0;
    let pick = |roll: f64| {
        decision
            .rule
            .choose(roll)
            .and_then(|d| d.subset.clone())
            .unwrap_or_default()
    };
    assert_eq!(pick(0.0), first);
    assert_eq!(pick(boundary - 0.001), first);
    assert_eq!(pick(boundary + 0.001), want[1].0);
    assert_eq!(pick(0.999), want[1].0);
}

fn check(name: &str) {
    let t = table(name);
    match name {
        "bookinfo-gateway.yaml" => {
            let through_gateway = |path: &'static str| RequestView {
                gateway: Some("bookinfo-gateway"),
                port: 8080,
                ..request("bookinfo.example.com:8080", path, &ANON)
            };
            for path in [
                "/productpage",
                "/static/css/site.css",
                "/login",
                "/logout",
                "/api/v1/products/0",
            ] {
                let decision = t
                    .route(&through_gateway(path))
                    .unwrap_or_else(|| panic!("{path} routes"));
                let d = &decision.rule.destinations[0];
                assert_eq!(
                    (d.host.as_str(), d.port),
                    (fqdn("productpage").as_str(), Some(9080)),
                    "{path}"
                );
            }
            for path in ["/", "/productpage/extra", "/admin"] {
                assert!(
                    matches!(t.lookup(&through_gateway(path)), Lookup::NoRuleMatched(_)),
                    "{path}"
                );
            }
            // The Gateway's servers list `*`: any host comes in.
            assert!(
                t.route(&RequestView {
                    host: "203.0.113.7",
                    ..through_gateway("/productpage")
                })
                .is_some()
            );
            // Bound to the gateway only: sidecar traffic is not affected.
            assert!(matches!(
                t.lookup(&request("productpage", "/productpage", &ANON)),
                Lookup::NoVirtualService
            ));
            let (id, gateway) = &t.gateways()[0];
            assert_eq!(id, "default/bookinfo-gateway");
            assert_eq!(
                gateway.selector.get("istio").map(String::as_str),
                Some("ingressgateway")
            );
            assert_eq!(
                (
                    gateway.servers[0].port.number,
                    gateway.servers[0].port.protocol.as_str()
                ),
                (8080, "HTTP")
            );
        }
        "destination-rule-all.yaml" | "destination-rule-all-mtls.yaml" => {
            for (service, subsets) in [
                ("productpage", &["v1"][..]),
                ("reviews", &["v1", "v2", "v3"]),
                ("ratings", &["v1", "v2", "v2-mysql", "v2-mysql-vm"]),
                ("details", &["v1", "v2"]),
            ] {
                for subset in subsets {
                    let labels = t
                        .subset_labels(&fqdn(service), subset)
                        .expect("subset defined");
                    assert_eq!(labels.get("version"), Some(&subset.to_string()));
                }
                let tls = t
                    .destination_policy(&fqdn(service), Some("v1"), Some(9080))
                    .tls;
                let mode = tls.and_then(|tls| tls.mode);
                let want =
                    (name == "destination-rule-all-mtls.yaml").then_some(TlsMode::IstioMutual);
                assert_eq!(mode, want, "{service}");
            }
        }
        "destination-rule-reviews.yaml" => {
            for subset in [None, Some("v2")] {
                let policy = t.destination_policy(&fqdn("reviews"), subset, None);
                assert_eq!(
                    policy.load_balancer.and_then(|lb| lb.simple),
                    Some(SimpleLb::Random)
                );
            }
            assert!(t.subset_labels(&fqdn("reviews"), "v3").is_some());
        }
        "fault-injection-details-v1.yaml" => {
            for headers in [&ANON, &JASON] {
                let decision = t
                    .route(&request("details", "/details/0", headers))
                    .expect("routes");
                let abort = decision.rule.fault.and_then(|f| f.abort).expect("abort");
                assert_eq!((abort.http_status, abort.percent), (555, 100.0));
                assert_eq!(decision.rule.destinations[0].subset.as_deref(), Some("v1"));
            }
            assert!(t.subset_labels(&fqdn("details"), "v1").is_some());
        }
        "virtual-service-all-v1.yaml" => {
            for service in ["productpage", "reviews", "ratings", "details"] {
                for headers in [&ANON, &JASON] {
                    goes_to(&t, service, headers, "v1");
                }
            }
        }
        "virtual-service-details-v2.yaml" => goes_to(&t, "details", &ANON, "v2"),
        "virtual-service-ratings-db.yaml" => {
            goes_to(&t, "reviews", &ANON, "v3");
            goes_to(&t, "ratings", &ANON, "v2");
        }
        "virtual-service-ratings-mysql.yaml" => {
            goes_to(&t, "reviews", &ANON, "v3");
            goes_to(&t, "ratings", &ANON, "v2-mysql");
        }
        "virtual-service-ratings-mysql-vm.yaml" => {
            goes_to(&t, "reviews", &ANON, "v3");
            goes_to(&t, "ratings", &ANON, "v2-mysql-vm");
        }
        "virtual-service-ratings-test-abort.yaml" => {
            let jason = t
                .route(&request("ratings", "/ratings/0", &JASON))
                .expect("routes");
            let abort = jason
                .rule
                .fault
                .and_then(|f| f.abort)
                .expect("abort for jason");
            assert_eq!((abort.http_status, abort.percent), (500, 100.0));
            let other = t
                .route(&request("ratings", "/ratings/0", &ANON))
                .expect("routes");
            assert_eq!(other.rule.fault, None);
            goes_to(&t, "ratings", &JASON, "v1");
            goes_to(&t, "ratings", &ANON, "v1");
        }
        "virtual-service-ratings-reviews-v3-abort.yaml" => {
            let from = |version: &str| -> BTreeMap<String, String> {
                [("app", "reviews"), ("version", version)]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            };
            let fault_for = |labels: &BTreeMap<String, String>| {
                let view = RequestView {
                    source_labels: labels,
                    ..request("ratings", "/ratings/0", &ANON)
                };
                let decision = t.route(&view).expect("routes");
                assert_eq!(decision.rule.destinations[0].subset.as_deref(), Some("v1"));
                decision.rule.fault.and_then(|f| f.abort)
            };
            let abort = fault_for(&from("v3")).expect("abort for reviews v3");
            assert_eq!((abort.http_status, abort.percent), (500, 100.0));
            assert_eq!(fault_for(&from("v2")), None, "reviews v2 is not aborted");
            assert_eq!(fault_for(NO_LABELS), None, "an unlabelled caller neither");
        }
        "virtual-service-ratings-test-delay.yaml" => {
            let jason = t
                .route(&request("ratings", "/ratings/0", &JASON))
                .expect("routes");
            let delay = jason
                .rule
                .fault
                .and_then(|f| f.delay)
                .expect("delay for jason");
            assert_eq!(
                (delay.delay, delay.percent),
                (Duration::from_secs(7), 100.0)
            );
            let other = t
                .route(&request(
                    "ratings",
                    "/ratings/0",
                    &&[("end-user", "mary")][..],
                ))
                .expect("routes");
            assert_eq!(other.rule.fault, None);
            goes_to(&t, "ratings", &JASON, "v1");
        }
        "virtual-service-reviews-50-v3.yaml" => split(&t, "reviews", &[("v1", 50), ("v3", 50)]),
        "virtual-service-reviews-80-20.yaml" => split(&t, "reviews", &[("v1", 80), ("v2", 20)]),
        "virtual-service-reviews-90-10.yaml" => split(&t, "reviews", &[("v1", 90), ("v2", 10)]),
        "virtual-service-reviews-v2-v3.yaml" => split(&t, "reviews", &[("v2", 50), ("v3", 50)]),
        "virtual-service-reviews-jason-v2-v3.yaml" => {
            goes_to(&t, "reviews", &JASON, "v2");
            goes_to(&t, "reviews", &ANON, "v3");
        }
        "virtual-service-reviews-test-v2.yaml" => {
            goes_to(&t, "reviews", &JASON, "v2");
            goes_to(&t, "reviews", &ANON, "v1");
            // Exact means exact: another user, or another spelling, stays on v1.
            goes_to(&t, "reviews", &&[("end-user", "Jason")][..], "v1");
            goes_to(&t, "reviews", &&[("end-user", "mary")][..], "v1");
        }
        "virtual-service-reviews-v3.yaml" => goes_to(&t, "reviews", &JASON, "v3"),
        "egress-rule-google-apis.yaml" => {
            let host = "www.googleapis.com";
            let port_80 = RequestView {
                port: 80,
                ..request(host, "/books/v1/volumes", &ANON)
            };
            let decision = t.route(&port_80).expect("port 80 is rewritten");
            assert_eq!(decision.rule.destinations[0].port, Some(443));
            assert_eq!(decision.rule.destinations[0].host, host);
            let port_443 = RequestView {
                port: 443,
                ..port_80
            };
            assert!(matches!(t.lookup(&port_443), Lookup::NoRuleMatched(_)));
            let tls_443 = t
                .destination_policy(host, None, Some(443))
                .tls
                .and_then(|tls| tls.mode);
            assert_eq!(tls_443, Some(TlsMode::Simple));
            assert_eq!(t.destination_policy(host, None, Some(80)).tls, None);
            let lb = t
                .destination_policy(host, None, Some(443))
                .load_balancer
                .and_then(|lb| lb.simple);
            assert_eq!(lb, Some(SimpleLb::RoundRobin));
            let (_, entry) = &t.service_entries()[0];
            assert_eq!(entry.hosts, [host]);
            assert_eq!(
                entry.ports.iter().map(|p| p.number).collect::<Vec<_>>(),
                [80, 443]
            );
            assert_eq!(entry.resolution, Some(mesh_config::model::Resolution::Dns));
        }
        "virtual-service-reviews-timeout.yaml" => {
            goes_to(&t, "reviews", &ANON, "v2");
            let decision = t
                .route(&request("reviews", "/reviews/0", &ANON))
                .expect("routes");
            assert_eq!(decision.rule.timeout, Some(Duration::from_millis(500)));
        }
        "virtual-service-ratings-delay-2s.yaml" => {
            for headers in [&ANON, &JASON] {
                let decision = t
                    .route(&request("ratings", "/ratings/0", headers))
                    .expect("routes");
                let delay = decision.rule.fault.and_then(|f| f.delay).expect("delay");
                assert_eq!(
                    (delay.delay, delay.percent),
                    (Duration::from_secs(2), 100.0)
                );
            }
        }
        "virtual-service-ratings-retries.yaml" => {
            let decision = t
                .route(&request("ratings", "/ratings/0", &ANON))
                .expect("routes");
            let retries = decision.rule.retries.clone().expect("retries");
            assert_eq!(retries.attempts, 3);
            assert_eq!(retries.per_try_timeout, Some(Duration::from_secs(2)));
            assert_eq!(
                retries.retry_on,
                ["5xx", "connect-failure", "refused-stream"]
            );
        }
        "virtual-service-ratings-no-retries.yaml"
        | "virtual-service-ratings-retries-all-versions.yaml" => {
            // Every version (no subset), so that a faulty instance is among the endpoints.
            let view = request("ratings", "/ratings/0", &ANON);
            assert_eq!(only_destination(&t, &view), (fqdn("ratings"), None));
            let decision = t.route(&view).expect("routes");
            let retries = decision.rule.retries.clone().expect("retries");
            if name == "virtual-service-ratings-no-retries.yaml" {
                assert_eq!(retries.attempts, 0);
            } else {
                assert_eq!(retries.attempts, 3);
                assert_eq!(retries.per_try_timeout, Some(Duration::from_secs(2)));
                assert_eq!(
                    retries.retry_on,
                    ["5xx", "connect-failure", "refused-stream"]
                );
            }
        }
        "destination-rule-ratings-outlier-detection.yaml" => {
            let od = t
                .destination_policy(&fqdn("ratings"), None, Some(9080))
                .outlier_detection
                .expect("outlier detection");
            assert_eq!(od.consecutive_5xx_errors, Some(1));
            assert_eq!(od.interval.map(|d| d.0), Some(Duration::from_secs(1)));
            assert_eq!(
                od.base_ejection_time.map(|d| d.0),
                Some(Duration::from_secs(2))
            );
            assert_eq!(od.max_ejection_percent, Some(100));
            for subset in ["v1", "v2", "v-faulty"] {
                let labels = t
                    .subset_labels(&fqdn("ratings"), subset)
                    .expect("subset defined");
                assert_eq!(labels.get("version").map(String::as_str), Some(subset));
            }
        }
        other => panic!("no expectation written for {other}: add one to scenarios.rs"),
    }
}

fn every_file() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("k8s/networking exists")
        .map(|entry| {
            entry
                .expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_file_has_an_expectation() {
    let names = every_file();
    assert!(
        names.len() >= 23,
        "expected the Bookinfo scenario files, found {names:?}"
    );
    for name in names {
        check(&name);
    }
}

#[test]
fn every_file_uses_networking_v1_and_has_no_unexpected_warnings() {
    for name in every_file() {
        let loaded = load(&name);
        assert!(!loaded.resources.is_empty(), "{name} has resources");
        assert!(
            loaded
                .resources
                .iter()
                .all(|r| r.api_version == "networking.istio.io/v1"),
            "{name}"
        );
        let warnings: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(ToString::to_string)
            .collect();
        // The egress rule asks the proxy to originate TLS, which sailkit does not do yet.
        let expected = usize::from(name == "egress-rule-google-apis.yaml");
        assert_eq!(warnings.len(), expected, "{name}: {warnings:#?}");
    }
}

#[test]
fn every_subset_a_scenario_uses_is_defined_by_destination_rule_all() {
    for name in every_file()
        .iter()
        .filter(|n| n.starts_with("virtual-service-"))
    {
        let loaded = load_files(&[dir().join("destination-rule-all.yaml"), dir().join(name)]);
        let problems: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Info)
            .map(ToString::to_string)
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}

#[test]
fn a_route_to_an_undefined_subset_is_a_warning_naming_the_line() {
    let loaded = load_files(&[dir().join("virtual-service-reviews-v3.yaml")]);
    assert!(!loaded.has_errors());
    let warning = loaded
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .expect("a warning");
    assert_eq!(warning.path, "spec.http[0].route[0].destination.subset");
    assert_eq!(warning.line, 13);
    assert!(warning.message.contains("\"v3\""), "{warning}");
}

#[test]
fn the_same_resource_in_two_files_is_a_duplicate() {
    let loaded = load_files(&[
        dir().join("virtual-service-reviews-v3.yaml"),
        dir().join("virtual-service-reviews-test-v2.yaml"),
    ]);
    let error = loaded.errors().next().expect("duplicate");
    assert!(
        error
            .message
            .contains("duplicate VirtualService default/reviews"),
        "{error}"
    );
    assert!(error.file.ends_with("virtual-service-reviews-test-v2.yaml"));
    assert_eq!((error.line, error.path.as_str()), (5, "metadata.name"));
}

#[test]
fn the_mtls_rules_are_noted_not_warned() {
    let loaded = load("destination-rule-all-mtls.yaml");
    assert_eq!(loaded.resources.len(), 4);
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Info)
    );
    assert!(matches!(loaded.resources[0].spec, Spec::DestinationRule(_)));
}
