//! Validation: the rules serde cannot express, and warnings for what sailkit does not implement.
//!
//! Per resource ([`check_resource`]), mirroring what Istio's admission webhook refuses:
//! - a VirtualService needs at least one host; every HTTP rule needs `route` or `redirect` (not
//!   both); every weight is 0..=100 and, when a rule has more than one destination, the weights
//!   add up to exactly 100 (a single destination gets 100% whatever its weight says);
//! - a string match sets at most one of `exact`/`prefix`/`regex`, and a regex must compile;
//! - `retryOn` lists only conditions Envoy knows; `fault.abort.httpStatus` is 200..=599;
//!   durations that Istio requires to be at least 1ms are;
//! - a DestinationRule's `loadBalancer` sets `simple` or `consistentHash`, not both, and a
//!   consistent hash has exactly one key; subset names are unique; percentages are 0..=100.
//!
//! Across a set ([`check_set`]): duplicate (kind, namespace, name) is an error; a route to a
//! subset that no DestinationRule defines is a **warning**, like `istioctl analyze` says it: Istio
//! accepts such a VirtualService (requests to it fail with 503 at run time), and files are often
//! applied one by one, VirtualService first.
//!
//! Against the services that exist ([`check_hosts`]): a route or mirror to a host that no
//! service has (not in the list the caller gives, no ServiceEntry) is a **warning** too, for
//! the same reason; `sailkit apply` gives it the mesh's workload registry.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration as StdDuration;

use crate::diagnostics::{Diagnostic, Report, Severity};
use crate::host;
use crate::model::*;

/// `retryOn` conditions the proxy implements.
pub const IMPLEMENTED_RETRY_ON: [&str; 6] = [
    "5xx",
    "gateway-error",
    "connect-failure",
    "refused-stream",
    "reset",
    "retriable-4xx",
];

/// Other conditions Envoy accepts: valid Istio, not (yet) implemented by sailkit.
const OTHER_RETRY_ON: [&str; 10] = [
    "envoy-ratelimited",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
    "reset-before-request",
];

/// Check one deserialized resource.
pub fn check_resource(resource: &Resource, report: &mut Report<'_>) {
    match &resource.spec {
        Spec::VirtualService(vs) => virtual_service(vs, report),
        Spec::DestinationRule(dr) => destination_rule(dr, report),
        Spec::Gateway(gw) => gateway(gw, report),
        Spec::ServiceEntry(se) => service_entry(se, report),
    }
}

fn unimplemented<T>(report: &mut Report<'_>, field: &Option<T>, path: &str) {
    if field.is_some() {
        report.warn(path, "valid Istio, but not implemented by sailkit: ignored");
    }
}

fn virtual_service(vs: &VirtualService, report: &mut Report<'_>) {
    if vs.hosts.is_empty() {
        report.error("spec.hosts", "at least one host is required");
    }
    for (i, h) in vs.hosts.iter().enumerate() {
        if h.is_empty() {
            report.error(&format!("spec.hosts[{i}]"), "a host cannot be empty");
        }
    }
    unimplemented(report, &vs.tcp, "spec.tcp");
    unimplemented(report, &vs.tls, "spec.tls");
    unimplemented(report, &vs.export_to, "spec.exportTo");
    for (i, rule) in vs.http.iter().enumerate() {
        http_route(rule, &format!("spec.http[{i}]"), report);
    }
}

fn http_route(rule: &HttpRoute, at: &str, report: &mut Report<'_>) {
    for (j, m) in rule.matches.iter().enumerate() {
        http_match(m, &format!("{at}.match[{j}]"), report);
    }
    let has_route = !rule.route.is_empty();
    match (has_route, rule.redirect.is_some()) {
        (true, true) => report.error(at, "a rule has either `route` or `redirect`, not both"),
        (false, false) if rule.delegate.is_none() && rule.direct_response.is_none() => {
            report.error(at, "a rule needs a `route` (or a `redirect`)")
        }
        _ => {}
    }
    let mut total = 0u64;
    for (k, destination) in rule.route.iter().enumerate() {
        let path = format!("{at}.route[{k}]");
        if destination.destination.host.is_empty() {
            report.error(&format!("{path}.destination.host"), "a host is required");
        }
        let weight = destination.weight.unwrap_or(0);
        if weight > 100 {
            report.error(
                &format!("{path}.weight"),
                format!("weight {weight} is outside 0..=100"),
            );
        }
        total += u64::from(weight);
        if let Some(headers) = &destination.headers {
            header_operations(headers, &format!("{path}.headers"), report);
        }
    }
    // A weight over 100 is already reported; the total would only repeat it.
    if rule.route.len() > 1
        && total != 100
        && rule.route.iter().all(|r| r.weight.unwrap_or(0) <= 100)
    {
        report.error(
            &format!("{at}.route"),
            format!("the weights add up to {total}; with more than one destination they must add up to 100"),
        );
    }
    if let Some(timeout) = rule.timeout {
        at_least_1ms(timeout.get(), &format!("{at}.timeout"), report);
    }
    if let Some(retries) = &rule.retries {
        retry(retries, &format!("{at}.retries"), report);
    }
    if let Some(fault) = &rule.fault {
        fault_injection(fault, &format!("{at}.fault"), report);
    }
    if let Some(mirror) = &rule.mirror
        && mirror.host.is_empty()
    {
        report.error(&format!("{at}.mirror.host"), "a host is required");
    }
    if rule.mirror_percent.is_some_and(|p| p > 100) {
        report.error(
            &format!("{at}.mirrorPercent"),
            "mirrorPercent is outside 0..=100",
        );
    }
    if let Some(redirect) = &rule.redirect {
        unimplemented(
            report,
            &redirect.derive_port,
            &format!("{at}.redirect.derivePort"),
        );
        if let Some(code) = redirect.redirect_code
            && !(300..=399).contains(&code)
        {
            report.error(
                &format!("{at}.redirect.redirectCode"),
                "a redirect code is 300..=399",
            );
        }
    }
    if let Some(rewrite) = &rule.rewrite {
        unimplemented(
            report,
            &rewrite.uri_regex_rewrite,
            &format!("{at}.rewrite.uriRegexRewrite"),
        );
    }
    if let Some(headers) = &rule.headers {
        header_operations(headers, &format!("{at}.headers"), report);
    }
    unimplemented(report, &rule.cors_policy, &format!("{at}.corsPolicy"));
    unimplemented(report, &rule.mirrors, &format!("{at}.mirrors"));
    unimplemented(report, &rule.delegate, &format!("{at}.delegate"));
    unimplemented(
        report,
        &rule.direct_response,
        &format!("{at}.directResponse"),
    );
}

fn http_match(m: &HttpMatchRequest, at: &str, report: &mut Report<'_>) {
    if let Some(uri) = &m.uri {
        string_match(uri, &format!("{at}.uri"), false, report);
    }
    if let Some(method) = &m.method {
        string_match(method, &format!("{at}.method"), false, report);
    }
    for (field, map) in [
        ("headers", &m.headers),
        ("queryParams", &m.query_params),
        ("withoutHeaders", &m.without_headers),
    ] {
        for (name, value) in map {
            string_match(value, &format!("{at}.{field}.{name}"), true, report);
        }
    }
    unimplemented(report, &m.scheme, &format!("{at}.scheme"));
    unimplemented(report, &m.authority, &format!("{at}.authority"));
    unimplemented(report, &m.ignore_uri_case, &format!("{at}.ignoreUriCase"));
    unimplemented(
        report,
        &m.source_namespace,
        &format!("{at}.sourceNamespace"),
    );
    unimplemented(report, &m.stat_prefix, &format!("{at}.statPrefix"));
}

fn string_match(m: &StringMatch, at: &str, empty_ok: bool, report: &mut Report<'_>) {
    let set = [m.exact.is_some(), m.prefix.is_some(), m.regex.is_some()]
        .iter()
        .filter(|s| **s)
        .count();
    if set > 1 {
        report.error(at, "set only one of `exact`, `prefix` or `regex`");
    } else if set == 0 && !empty_ok {
        report.error(at, "set one of `exact`, `prefix` or `regex`");
    }
    if let Some(pattern) = &m.regex
        && let Err(error) = crate::table::check_regex(pattern)
    {
        report.error(&format!("{at}.regex"), format!("invalid regex: {error}"));
    }
}

fn header_operations(headers: &Headers, at: &str, report: &mut Report<'_>) {
    for (side, ops) in [
        ("request", &headers.request),
        ("response", &headers.response),
    ] {
        let Some(ops) = ops else { continue };
        for name in ops
            .set
            .keys()
            .chain(ops.add.keys())
            .chain(ops.remove.iter())
        {
            if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b == b':') {
                report.error(
                    &format!("{at}.{side}"),
                    format!("invalid header name {name:?}"),
                );
            }
        }
    }
}

fn retry(retries: &HttpRetry, at: &str, report: &mut Report<'_>) {
    if let Some(per_try) = retries.per_try_timeout {
        at_least_1ms(per_try.get(), &format!("{at}.perTryTimeout"), report);
    }
    if let Some(retry_on) = &retries.retry_on {
        let path = format!("{at}.retryOn");
        for condition in retry_on.split(',').map(str::trim) {
            if IMPLEMENTED_RETRY_ON.contains(&condition) || condition.parse::<u16>().is_ok() {
                continue;
            }
            if OTHER_RETRY_ON.contains(&condition) {
                report.warn(
                    &path,
                    format!(
                        "retryOn condition {condition:?} is not implemented by sailkit: ignored"
                    ),
                );
            } else {
                report.error(&path, format!("unknown retryOn condition {condition:?}"));
            }
        }
    }
    unimplemented(
        report,
        &retries.retry_remote_localities,
        &format!("{at}.retryRemoteLocalities"),
    );
    unimplemented(
        report,
        &retries.retry_ignore_previous_hosts,
        &format!("{at}.retryIgnorePreviousHosts"),
    );
    unimplemented(report, &retries.backoff, &format!("{at}.backoff"));
}

fn fault_injection(fault: &HttpFaultInjection, at: &str, report: &mut Report<'_>) {
    if fault.delay.is_none() && fault.abort.is_none() {
        report.error(at, "a fault needs a `delay` or an `abort`");
    }
    if let Some(delay) = &fault.delay {
        let path = format!("{at}.delay");
        if delay.fixed_delay.is_none() && delay.exponential_delay.is_none() {
            report.error(&path, "a delay needs `fixedDelay`");
        }
        if let Some(fixed) = delay.fixed_delay {
            at_least_1ms(fixed.get(), &format!("{path}.fixedDelay"), report);
        }
        unimplemented(
            report,
            &delay.exponential_delay,
            &format!("{path}.exponentialDelay"),
        );
        legacy_percent(delay.percent, &format!("{path}.percent"), report);
    }
    if let Some(abort) = &fault.abort {
        let path = format!("{at}.abort");
        match abort.http_status {
            Some(status) if !(200..=599).contains(&status) => report.error(
                &format!("{path}.httpStatus"),
                format!("HTTP status {status} is outside 200..=599"),
            ),
            None if abort.grpc_status.is_none() && abort.http2_error.is_none() => {
                report.error(&path, "an abort needs `httpStatus`")
            }
            _ => {}
        }
        unimplemented(report, &abort.grpc_status, &format!("{path}.grpcStatus"));
        unimplemented(report, &abort.http2_error, &format!("{path}.http2Error"));
        legacy_percent(abort.percent, &format!("{path}.percent"), report);
    }
}

fn legacy_percent(percent: Option<u32>, at: &str, report: &mut Report<'_>) {
    if percent.is_some_and(|p| p > 100) {
        report.error(at, "percent is outside 0..=100");
    }
}

fn at_least_1ms(duration: StdDuration, at: &str, report: &mut Report<'_>) {
    if duration < StdDuration::from_millis(1) {
        report.error(at, "a duration here must be at least 1ms");
    }
}

fn destination_rule(dr: &DestinationRule, report: &mut Report<'_>) {
    if dr.host.is_empty() {
        report.error("spec.host", "a host is required");
    }
    if let Some(policy) = &dr.traffic_policy {
        traffic_policy(policy, "spec.trafficPolicy", report);
    }
    let mut names = BTreeSet::new();
    for (i, subset) in dr.subsets.iter().enumerate() {
        let at = format!("spec.subsets[{i}]");
        if subset.name.is_empty() {
            report.error(&format!("{at}.name"), "a subset needs a name");
        } else if !names.insert(subset.name.as_str()) {
            report.error(
                &format!("{at}.name"),
                format!("duplicate subset name {:?}", subset.name),
            );
        }
        if let Some(policy) = &subset.traffic_policy {
            traffic_policy(policy, &format!("{at}.trafficPolicy"), report);
        }
    }
    unimplemented(report, &dr.export_to, "spec.exportTo");
    unimplemented(report, &dr.workload_selector, "spec.workloadSelector");
}

fn traffic_policy(policy: &TrafficPolicy, at: &str, report: &mut Report<'_>) {
    policy_parts(
        policy.load_balancer.as_ref(),
        policy.connection_pool.as_ref(),
        policy.outlier_detection.as_ref(),
        policy.tls.as_ref(),
        at,
        report,
    );
    for (i, port) in policy.port_level_settings.iter().enumerate() {
        let path = format!("{at}.portLevelSettings[{i}]");
        if port.port.is_none() {
            report.error(&path, "missing field `port`");
        }
        policy_parts(
            port.load_balancer.as_ref(),
            port.connection_pool.as_ref(),
            port.outlier_detection.as_ref(),
            port.tls.as_ref(),
            &path,
            report,
        );
    }
    unimplemented(report, &policy.tunnel, &format!("{at}.tunnel"));
    unimplemented(
        report,
        &policy.proxy_protocol,
        &format!("{at}.proxyProtocol"),
    );
}

fn policy_parts(
    lb: Option<&LoadBalancerSettings>,
    pool: Option<&ConnectionPoolSettings>,
    outlier: Option<&OutlierDetection>,
    tls: Option<&ClientTlsSettings>,
    at: &str,
    report: &mut Report<'_>,
) {
    if let Some(lb) = lb {
        load_balancer(lb, &format!("{at}.loadBalancer"), report);
    }
    if let Some(pool) = pool {
        let path = format!("{at}.connectionPool");
        if let Some(tcp) = &pool.tcp {
            unimplemented(
                report,
                &tcp.tcp_keepalive,
                &format!("{path}.tcp.tcpKeepalive"),
            );
            unimplemented(
                report,
                &tcp.max_connection_duration,
                &format!("{path}.tcp.maxConnectionDuration"),
            );
            unimplemented(
                report,
                &tcp.idle_timeout,
                &format!("{path}.tcp.idleTimeout"),
            );
        }
        if let Some(http) = &pool.http {
            unimplemented(
                report,
                &http.h2_upgrade_policy,
                &format!("{path}.http.h2UpgradePolicy"),
            );
            unimplemented(
                report,
                &http.use_client_protocol,
                &format!("{path}.http.useClientProtocol"),
            );
            unimplemented(
                report,
                &http.max_concurrent_streams,
                &format!("{path}.http.maxConcurrentStreams"),
            );
        }
    }
    if let Some(outlier) = outlier {
        let path = format!("{at}.outlierDetection");
        for (field, value) in [
            ("maxEjectionPercent", outlier.max_ejection_percent),
            ("minHealthPercent", outlier.min_health_percent),
        ] {
            if value.is_some_and(|v| v > 100) {
                report.error(
                    &format!("{path}.{field}"),
                    format!("{field} is outside 0..=100"),
                );
            }
        }
        unimplemented(
            report,
            &outlier.consecutive_errors,
            &format!("{path}.consecutiveErrors"),
        );
        unimplemented(
            report,
            &outlier.split_external_local_origin_errors,
            &format!("{path}.splitExternalLocalOriginErrors"),
        );
        unimplemented(
            report,
            &outlier.consecutive_local_origin_failures,
            &format!("{path}.consecutiveLocalOriginFailures"),
        );
    }
    if let Some(tls) = tls {
        let path = format!("{at}.tls.mode");
        match tls.mode {
            None | Some(TlsMode::Disable) => {}
            Some(TlsMode::IstioMutual) => report.push(
                Severity::Info,
                &path,
                "ISTIO_MUTUAL noted: sailkit's sidecars do not encrypt yet, traffic between them stays plain",
            ),
            Some(mode) => report.warn(&path, format!("TLS mode {mode:?} is not implemented by sailkit: ignored")),
        }
    }
}

fn load_balancer(lb: &LoadBalancerSettings, at: &str, report: &mut Report<'_>) {
    if lb.simple.is_some() && lb.consistent_hash.is_some() {
        report.error(at, "set `simple` or `consistentHash`, not both");
    }
    match lb.simple {
        Some(SimpleLb::Passthrough) => report.warn(
            &format!("{at}.simple"),
            "PASSTHROUGH is not implemented by sailkit: ROUND_ROBIN is used",
        ),
        Some(SimpleLb::LeastConn) => report.warn(
            &format!("{at}.simple"),
            "LEAST_CONN is deprecated: treated as LEAST_REQUEST",
        ),
        _ => {}
    }
    if let Some(hash) = &lb.consistent_hash {
        let path = format!("{at}.consistentHash");
        let keys = [
            hash.http_header_name.is_some(),
            hash.http_cookie.is_some(),
            hash.use_source_ip.is_some(),
            hash.http_query_parameter_name.is_some(),
        ];
        if keys.iter().filter(|k| **k).count() != 1 {
            report.error(
                &path,
                "set exactly one of `httpHeaderName`, `httpCookie`, `useSourceIp` or `httpQueryParameterName`",
            );
        }
        unimplemented(
            report,
            &hash.http_query_parameter_name,
            &format!("{path}.httpQueryParameterName"),
        );
        unimplemented(report, &hash.ring_hash, &format!("{path}.ringHash"));
        unimplemented(report, &hash.maglev, &format!("{path}.maglev"));
        unimplemented(
            report,
            &hash.minimum_ring_size,
            &format!("{path}.minimumRingSize"),
        );
    }
    unimplemented(
        report,
        &lb.locality_lb_setting,
        &format!("{at}.localityLbSetting"),
    );
    unimplemented(
        report,
        &lb.warmup_duration_secs,
        &format!("{at}.warmupDurationSecs"),
    );
    unimplemented(report, &lb.warmup, &format!("{at}.warmup"));
}

fn gateway(gw: &Gateway, report: &mut Report<'_>) {
    if gw.servers.is_empty() {
        report.error("spec.servers", "at least one server is required");
    }
    for (i, server) in gw.servers.iter().enumerate() {
        let at = format!("spec.servers[{i}]");
        if server.hosts.is_empty() {
            report.error(&format!("{at}.hosts"), "at least one host is required");
        }
        unimplemented(report, &server.tls, &format!("{at}.tls"));
        unimplemented(report, &server.bind, &format!("{at}.bind"));
        unimplemented(
            report,
            &server.default_endpoint,
            &format!("{at}.defaultEndpoint"),
        );
    }
}

fn service_entry(se: &ServiceEntry, report: &mut Report<'_>) {
    if se.hosts.is_empty() {
        report.error("spec.hosts", "at least one host is required");
    }
    unimplemented(report, &se.workload_selector, "spec.workloadSelector");
    unimplemented(report, &se.export_to, "spec.exportTo");
    unimplemented(report, &se.subject_alt_names, "spec.subjectAltNames");
}

fn diagnostic(resource: &Resource, severity: Severity, path: &str, message: String) -> Diagnostic {
    let position = resource.source.locate(path);
    Diagnostic {
        severity,
        file: resource.source.file.to_string(),
        line: position.line,
        column: position.column,
        path: path.to_owned(),
        message,
    }
}

/// Duplicate (kind, namespace, name) among `resources`: an error on every copy after the first.
pub fn check_duplicates(resources: &[Resource]) -> Vec<Diagnostic> {
    duplicates(resources, false)
}

fn duplicates(resources: &[Resource], across_files_only: bool) -> Vec<Diagnostic> {
    let mut seen: HashMap<(Kind, &str, &str), &Resource> = HashMap::new();
    let mut out = Vec::new();
    for resource in resources {
        let key = (
            resource.kind(),
            resource.namespace(),
            resource.metadata.name.as_str(),
        );
        if let Some(first) = seen.get(&key) {
            if across_files_only && first.source.file == resource.source.file {
                continue;
            }
            let at = first.source.locate("metadata.name");
            out.push(diagnostic(
                resource,
                Severity::Error,
                "metadata.name",
                format!(
                    "duplicate {} {}/{}: already defined at {}:{}",
                    key.0.as_str(),
                    key.1,
                    key.2,
                    first.source.file,
                    at.line
                ),
            ));
        } else {
            seen.insert(key, resource);
        }
    }
    out
}

/// Checks across a whole set: duplicates between files, and routes to subsets no
/// DestinationRule defines (a warning, see the module doc).
pub fn check_set(resources: &[Resource]) -> Vec<Diagnostic> {
    // Duplicates inside one file were reported when it was loaded.
    let mut out: Vec<Diagnostic> = check_duplicates(resources)
        .into_iter()
        .filter(|d| {
            !d.message
                .contains(&format!("already defined at {}:", d.file))
        })
        .collect();
    let mut subsets: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for resource in resources {
        if let Spec::DestinationRule(dr) = &resource.spec {
            let fqdn = host::qualify(&dr.host, resource.namespace());
            subsets
                .entry(fqdn)
                .or_default()
                .extend(dr.subsets.iter().map(|s| s.name.as_str()));
        }
    }
    for resource in resources {
        let Spec::VirtualService(vs) = &resource.spec else {
            continue;
        };
        for (path, destination) in route_targets(vs) {
            let Some(subset) = &destination.subset else {
                continue;
            };
            let fqdn = host::qualify(&destination.host, resource.namespace());
            if !subsets
                .get(&fqdn)
                .is_some_and(|names| names.contains(subset.as_str()))
            {
                out.push(diagnostic(
                    resource,
                    Severity::Warning,
                    &format!("{path}.subset"),
                    format!("no DestinationRule defines subset {subset:?} of {fqdn}: requests routed here will fail (503)"),
                ));
            }
        }
    }
    out
}

/// Every place a VirtualService sends requests (each `route[].destination` and each `mirror`),
/// with its field path.
fn route_targets(vs: &VirtualService) -> impl Iterator<Item = (String, &Destination)> {
    vs.http.iter().enumerate().flat_map(|(i, rule)| {
        let routes = rule.route.iter().enumerate().map(move |(k, r)| {
            (
                format!("spec.http[{i}].route[{k}].destination"),
                &r.destination,
            )
        });
        let mirror = rule
            .mirror
            .iter()
            .map(move |m| (format!("spec.http[{i}].mirror"), m));
        routes.chain(mirror)
    })
}

/// Routes to hosts that no service has: a **warning** for each destination or mirror whose
/// host is neither in `services` (qualified names, e.g. those of the mesh's workload registry)
/// nor covered by a ServiceEntry of `resources`. As with an undefined subset, Istio accepts
/// such a VirtualService (`istioctl analyze` reports the host as not found), and every request
/// routed there fails: the sidecars answer 503 `NC`. The caller decides what the known services
/// are; this crate knows no registry.
pub fn check_hosts(resources: &[Resource], services: &BTreeSet<String>) -> Vec<Diagnostic> {
    let entries: Vec<String> = resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::ServiceEntry(se) => Some((r, se)),
            _ => None,
        })
        .flat_map(|(r, se)| se.hosts.iter().map(|h| host::qualify(h, r.namespace())))
        .collect();
    let known = |fqdn: &str| {
        services.contains(fqdn)
            || entries
                .iter()
                .any(|pattern| host::match_score(pattern, fqdn).is_some())
    };
    let mut out = Vec::new();
    for resource in resources {
        let Spec::VirtualService(vs) = &resource.spec else {
            continue;
        };
        for (path, destination) in route_targets(vs) {
            let fqdn = host::qualify(&destination.host, resource.namespace());
            if !destination.host.is_empty() && !known(&fqdn) {
                out.push(diagnostic(
                    resource,
                    Severity::Warning,
                    &format!("{path}.host"),
                    format!("no service has host {fqdn} (not in the mesh's registry, and no ServiceEntry lists it): requests routed here will fail (503 NC)"),
                ));
            }
        }
    }
    out
}
