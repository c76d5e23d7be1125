//! The checks of a VirtualService and of its `http[]` rules: hosts, route or redirect, weights,
//! matches, header operations, mirror, redirect code; retries and faults have their own files.

use super::faults::fault_injection;
use super::retries::retry;
use super::{at_least_1ms, unimplemented};
use crate::diagnostics::Report;
use crate::model::{Headers, HttpMatchRequest, HttpRoute, StringMatch, VirtualService};

pub(super) fn virtual_service(vs: &VirtualService, report: &mut Report<'_>) {
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
