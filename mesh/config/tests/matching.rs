//! Request matching, one condition at a time: uri, headers, query parameters, method, port,
//! source labels, gateways, first-match-wins, short host names, weighted choice, policy merge.

use std::collections::BTreeMap;
use std::time::Duration;

use mesh_config::model::SimpleLb;
use mesh_config::{Lookup, RequestView, RouteTable, compile, compile_in, load_str, roll_hits};

/// Compile a VirtualService for host `svc` whose `http` list is `rules` (YAML, indented by 4).
fn table(rules: &str) -> RouteTable {
    let text = format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: svc\nspec:\n  hosts: [svc]\n  http:\n{rules}"
    );
    let loaded = load_str("test.yaml", &text);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    compile(&loaded.resources)
}

/// A rule named `name` with `match` (YAML flow list) routing to subset `name`.
fn rule(name: &str, matches: &str) -> String {
    format!(
        "    - name: {name}\n      match: {matches}\n      route:\n        - destination: {{host: svc, subset: {name}}}\n"
    )
}

const CATCH_ALL: &str =
    "    - name: other\n      route:\n        - destination: {host: svc, subset: other}\n";

struct Req<'a> {
    host: &'a str,
    port: u16,
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a str)],
    labels: BTreeMap<String, String>,
}

impl Default for Req<'_> {
    fn default() -> Self {
        Req {
            host: "svc",
            port: 9080,
            method: "GET",
            path: "/",
            query: "",
            headers: &[],
            labels: BTreeMap::new(),
        }
    }
}

/// The name of the rule `req` lands on, or "" when none matched.
fn landed(table: &RouteTable, req: &Req<'_>) -> String {
    let headers = req.headers;
    let view = RequestView {
        host: req.host,
        port: req.port,
        method: req.method,
        path: req.path,
        query: req.query,
        headers: &headers,
        source_labels: &req.labels,
        gateway: None,
    };
    table
        .route(&view)
        .and_then(|d| d.rule.name.clone())
        .unwrap_or_default()
}

#[test]
fn uri_exact_prefix_regex() {
    let t = table(&format!(
        "{}{}{}{CATCH_ALL}",
        rule("exact", "[{uri: {exact: /a}}]"),
        rule("prefix", "[{uri: {prefix: /b}}]"),
        rule("regex", "[{uri: {regex: \"/c/[0-9]+\"}}]"),
    ));
    for (path, want) in [
        ("/a", "exact"),
        ("/a/", "other"),
        ("/b", "prefix"),
        ("/bee", "prefix"),
        ("/c/42", "regex"),
        // A regex must match the whole path, not a part of it.
        ("/c/42/x", "other"),
        ("/x/c/42", "other"),
    ] {
        assert_eq!(
            landed(
                &t,
                &Req {
                    path,
                    ..Req::default()
                }
            ),
            want,
            "{path}"
        );
    }
}

#[test]
fn headers_exact_prefix_regex_and_presence() {
    let t = table(&format!(
        "{}{}{}{}{CATCH_ALL}",
        rule("exact", "[{headers: {end-user: {exact: jason}}}]"),
        rule("prefix", "[{headers: {end-user: {prefix: test-}}}]"),
        rule("regex", "[{headers: {end-user: {regex: \"[a-c]+\"}}}]"),
        rule("present", "[{headers: {x-canary: {}}}]"),
    ));
    for (headers, want) in [
        (&[("end-user", "jason")][..], "exact"),
        (&[("End-User", "jason")][..], "exact"),
        (&[("end-user", "test-1")][..], "prefix"),
        (&[("end-user", "abc")][..], "regex"),
        (&[("end-user", "abcd")][..], "other"),
        (&[("x-canary", "")][..], "present"),
        (&[][..], "other"),
    ] {
        assert_eq!(
            landed(
                &t,
                &Req {
                    headers,
                    ..Req::default()
                }
            ),
            want,
            "{headers:?}"
        );
    }
}

#[test]
fn without_headers() {
    let t = table(&format!(
        "{}{CATCH_ALL}",
        rule("no-debug", "[{withoutHeaders: {x-debug: {exact: \"1\"}}}]")
    ));
    assert_eq!(landed(&t, &Req::default()), "no-debug");
    assert_eq!(
        landed(
            &t,
            &Req {
                headers: &[("x-debug", "0")],
                ..Req::default()
            }
        ),
        "no-debug"
    );
    assert_eq!(
        landed(
            &t,
            &Req {
                headers: &[("x-debug", "1")],
                ..Req::default()
            }
        ),
        "other"
    );
}

#[test]
fn query_parameters() {
    let t = table(&format!(
        "{}{}{CATCH_ALL}",
        rule("exact", "[{queryParams: {v: {exact: \"2\"}}}]"),
        rule("regex", "[{queryParams: {id: {regex: \"[0-9]+\"}}}]"),
    ));
    for (query, want) in [
        ("v=2", "exact"),
        ("a=1&v=2", "exact"),
        ("v=3", "other"),
        ("id=7", "regex"),
        ("id=x", "other"),
        ("", "other"),
    ] {
        assert_eq!(
            landed(
                &t,
                &Req {
                    query,
                    ..Req::default()
                }
            ),
            want,
            "{query}"
        );
    }
}

#[test]
fn method_port_and_source_labels() {
    let t = table(&format!(
        "{}{}{}{CATCH_ALL}",
        rule("post", "[{method: {exact: POST}}]"),
        rule("admin-port", "[{port: 9901}]"),
        rule("from-v2", "[{sourceLabels: {app: reviews, version: v2}}]"),
    ));
    assert_eq!(
        landed(
            &t,
            &Req {
                method: "POST",
                ..Req::default()
            }
        ),
        "post"
    );
    assert_eq!(
        landed(
            &t,
            &Req {
                port: 9901,
                ..Req::default()
            }
        ),
        "admin-port"
    );
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        landed(
            &t,
            &Req {
                labels: labels(&[("app", "reviews"), ("version", "v2")]),
                ..Req::default()
            }
        ),
        "from-v2"
    );
    assert_eq!(
        landed(
            &t,
            &Req {
                labels: labels(&[("app", "reviews")]),
                ..Req::default()
            }
        ),
        "other"
    );
}

#[test]
fn conditions_in_one_match_are_and_entries_are_or() {
    let t = table(&format!(
        "{}{CATCH_ALL}",
        rule(
            "both",
            "[{uri: {prefix: /api}, method: {exact: GET}}, {headers: {x-force: {exact: yes}}}]"
        )
    ));
    assert_eq!(
        landed(
            &t,
            &Req {
                path: "/api/x",
                ..Req::default()
            }
        ),
        "both"
    );
    assert_eq!(
        landed(
            &t,
            &Req {
                path: "/api/x",
                method: "PUT",
                ..Req::default()
            }
        ),
        "other"
    );
    assert_eq!(
        landed(
            &t,
            &Req {
                method: "PUT",
                headers: &[("x-force", "yes")],
                ..Req::default()
            }
        ),
        "both"
    );
}

#[test]
fn first_match_wins_and_no_match_is_reported() {
    let t = table(&format!(
        "{}{}",
        rule("first", "[{uri: {prefix: /}}]"),
        rule("second", "[{uri: {prefix: /a}}]")
    ));
    assert_eq!(
        landed(
            &t,
            &Req {
                path: "/a",
                ..Req::default()
            }
        ),
        "first"
    );
    let t = table(&rule("only", "[{uri: {exact: /x}}]"));
    let view = RequestView {
        host: "svc",
        port: 80,
        method: "GET",
        path: "/y",
        query: "",
        headers: &[("a", "b")],
        source_labels: &BTreeMap::new(),
        gateway: None,
    };
    assert!(matches!(t.lookup(&view), Lookup::NoRuleMatched(vs) if vs.name == "svc"));
    assert!(matches!(
        t.lookup(&RequestView {
            host: "elsewhere",
            ..view
        }),
        Lookup::NoVirtualService
    ));
}

#[test]
fn short_and_long_host_names_reach_the_same_service() {
    let t = table(CATCH_ALL);
    for host in [
        "svc",
        "svc:9080",
        "svc.default",
        "svc.default.svc",
        "svc.default.svc.cluster.local",
        "svc.default.svc.cluster.local:80",
    ] {
        assert_eq!(
            landed(
                &t,
                &Req {
                    host,
                    ..Req::default()
                }
            ),
            "other",
            "{host}"
        );
    }
    for host in ["svc.prod", "svc.prod.svc.cluster.local", "other"] {
        assert_eq!(
            landed(
                &t,
                &Req {
                    host,
                    ..Req::default()
                }
            ),
            "",
            "{host}"
        );
    }
    // A proxy in another namespace resolves the short name in its own namespace.
    let loaded = load_str(
        "t.yaml",
        &format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: svc\nspec:\n  hosts: [svc]\n  http:\n{CATCH_ALL}"
        ),
    );
    let in_prod = compile_in(&loaded.resources, "prod");
    assert_eq!(
        landed(
            &in_prod,
            &Req {
                host: "svc",
                ..Req::default()
            }
        ),
        ""
    );
    assert_eq!(
        landed(
            &in_prod,
            &Req {
                host: "svc.default",
                ..Req::default()
            }
        ),
        "other"
    );
}

#[test]
fn weighted_choice_is_deterministic_given_the_roll() {
    let t = table(
        "    - route:\n        - destination: {host: svc, subset: a}\n          weight: 25\n        - destination: {host: svc, subset: b}\n          weight: 0\n        - destination: {host: svc, subset: c}\n          weight: 75\n",
    );
    let rule = &t.virtual_services()[0].rules[0];
    let pick = |roll| rule.choose(roll).and_then(|d| d.subset.as_deref());
    assert_eq!(pick(0.0), Some("a"));
    assert_eq!(pick(0.2499), Some("a"));
    assert_eq!(pick(0.25), Some("c"), "a zero weight is never chosen");
    assert_eq!(pick(0.9999), Some("c"));
    assert_eq!(pick(1.0), Some("c"));
    assert!(roll_hits(0.069, 7.0) && !roll_hits(0.07, 7.0));
    assert!(!roll_hits(0.0, 0.0) && roll_hits(0.9999, 100.0));
}

#[test]
fn rule_details_are_compiled() {
    let t = table(
        "    - name: all\n      timeout: 3s\n      retries: {attempts: 2, retryOn: \"gateway-error,503\"}\n      mirror: {host: svc, subset: v2}\n      mirrorPercentage: {value: 12.5}\n      rewrite: {uri: /v2/}\n      headers:\n        request:\n          set: {x-a: \"1\"}\n          remove: [x-b]\n      route:\n        - destination: {host: svc, subset: v1, port: {number: 9080}}\n          headers:\n            response:\n              add: {x-c: \"3\"}\n",
    );
    let rule = &t.virtual_services()[0].rules[0];
    assert_eq!(rule.timeout, Some(Duration::from_secs(3)));
    let retries = rule.retries.as_ref().expect("retries");
    assert_eq!(
        (retries.attempts, retries.retry_on.as_slice()),
        (2, &["gateway-error".to_owned(), "503".to_owned()][..])
    );
    let mirror = rule.mirror.as_ref().expect("mirror");
    assert_eq!(
        (mirror.subset.as_deref(), mirror.percent),
        (Some("v2"), 12.5)
    );
    assert_eq!(
        rule.rewrite.as_ref().and_then(|r| r.uri.as_deref()),
        Some("/v2/")
    );
    // The operations as compiled; mesh-proxy's `headers::apply_operations` applies them (and
    // is tested there).
    let request_ops = rule.headers.request.as_ref().expect("request ops");
    assert_eq!(request_ops.set.get("x-a").map(String::as_str), Some("1"));
    assert_eq!(request_ops.remove, ["x-b".to_owned()]);
    assert!(request_ops.add.is_empty());
    let destination = &rule.destinations[0];
    assert_eq!(destination.port, Some(9080));
    assert!(
        destination
            .headers
            .response
            .as_ref()
            .is_some_and(|ops| ops.add.contains_key("x-c"))
    );
}

#[test]
fn subset_policy_overrides_host_policy_and_port_settings_override_both() {
    let text = "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 250ms}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 20, maxRequestsPerConnection: 1, maxRetries: 3, idleTimeout: 1m}
    outlierDetection: {consecutive5xxErrors: 5, consecutiveGatewayErrors: 2, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 10}
    portLevelSettings:
      - port: {number: 9443}
        loadBalancer: {simple: LEAST_REQUEST}
  subsets:
    - name: v2
      labels: {version: v2}
      trafficPolicy:
        loadBalancer:
          consistentHash: {httpCookie: {name: user, ttl: 0s}}
    - name: v3
      labels: {version: v3}
";
    let loaded = load_str("dr.yaml", text);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let t = compile(&loaded.resources);
    let host = "reviews.default.svc.cluster.local";
    let base = t.destination_policy(host, Some("v3"), Some(9080));
    assert_eq!(
        base.load_balancer.as_ref().and_then(|lb| lb.simple),
        Some(SimpleLb::RoundRobin)
    );
    let pool = base.connection_pool.expect("pool");
    let tcp = pool.tcp.expect("tcp");
    assert_eq!(
        (tcp.max_connections, tcp.connect_timeout.map(|d| d.get())),
        (Some(100), Some(Duration::from_millis(250)))
    );
    let http = pool.http.expect("http");
    assert_eq!(
        (
            http.http1_max_pending_requests,
            http.http2_max_requests,
            http.max_requests_per_connection,
            http.max_retries
        ),
        (Some(10), Some(20), Some(1), Some(3))
    );
    let outlier = base.outlier_detection.expect("outlier");
    assert_eq!(
        (
            outlier.consecutive_5xx_errors,
            outlier.consecutive_gateway_errors
        ),
        (Some(5), Some(2))
    );
    assert_eq!(
        outlier.base_ejection_time.map(|d| d.get()),
        Some(Duration::from_secs(30))
    );
    let on_port = t.destination_policy(host, Some("v3"), Some(9443));
    assert_eq!(
        on_port.load_balancer.and_then(|lb| lb.simple),
        Some(SimpleLb::LeastRequest)
    );
    let v2 = t.destination_policy(host, Some("v2"), Some(9080));
    let cookie = v2
        .load_balancer
        .and_then(|lb| lb.consistent_hash)
        .and_then(|h| h.http_cookie)
        .expect("cookie");
    assert_eq!(cookie.name, "user");
    assert!(
        v2.connection_pool.is_some(),
        "what the subset does not set is inherited"
    );
    assert_eq!(
        t.destination_policy("ratings.default.svc.cluster.local", None, None),
        Default::default()
    );
}

#[test]
fn a_gateway_lets_in_only_the_hosts_its_servers_list() {
    // A VirtualService for every host, bound to `gateway`, its one rule named `rule`.
    let bound = |name: &str, gateway: &str, rule: &str| {
        format!(
            "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
spec:
  hosts: [\"*\"]
  gateways: [{gateway}]
  http:
    - name: {rule}
      route:
        - destination: {{host: productpage}}
"
        )
    };
    let text = format!(
        "apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: shop-gateway
spec:
  selector: {{istio: ingressgateway}}
  servers:
    - port: {{number: 80, name: http, protocol: HTTP}}
      hosts: [bookinfo.example.com, \"prod/*.shop.example\"]
---
{}---
{}",
        bound("shop", "shop-gateway", "in"),
        bound("ghost", "ghost-gateway", "ghost")
    );
    let loaded = load_str("gw.yaml", &text);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let t = compile(&loaded.resources);
    let no_labels = BTreeMap::new();
    let through = |gateway: &'static str, host: &'static str| RequestView {
        host,
        port: 80,
        method: "GET",
        path: "/productpage",
        query: "",
        headers: &[],
        source_labels: &no_labels,
        gateway: Some(gateway),
    };
    for host in [
        "bookinfo.example.com",
        "bookinfo.example.com:8080",
        "a.shop.example",
    ] {
        let routed = t.route(&through("shop-gateway", host));
        assert_eq!(
            routed.and_then(|d| d.rule.name.clone()).as_deref(),
            Some("in"),
            "{host}"
        );
    }
    // Not listed: the VirtualService's `*` does not widen what the Gateway lets in.
    for host in ["other.example.com", "shop.example", "productpage"] {
        assert!(
            matches!(
                t.lookup(&through("shop-gateway", host)),
                Lookup::NoVirtualService
            ),
            "{host}"
        );
    }
    // A VirtualService bound to a Gateway that does not exist routes nothing.
    assert!(matches!(
        t.lookup(&through("ghost-gateway", "bookinfo.example.com")),
        Lookup::NoVirtualService
    ));
    // The Gateway's one server is on port 80: a gateway standing for 8080 lets nothing in.
    assert!(matches!(
        t.lookup(&RequestView {
            port: 8080,
            ..through("shop-gateway", "bookinfo.example.com")
        }),
        Lookup::NoVirtualService
    ));
}
