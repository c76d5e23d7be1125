//! Rules that no request can reach, and matches that can never be the one that matched: the
//! rules of a VirtualService are tried in order and the first match wins, so whatever an earlier
//! rule already catches never gets further.
//!
//! - [`check_unreachable_rules`]: a rule after a catch-all (a rule with no `match`, or with a
//!   match entry that sets no condition, or only `uri: {prefix: /}`), and a rule whose every
//!   match entry is a copy of one in an earlier rule: a **warning** each (Istio's analyzer
//!   calls it `VirtualServiceUnreachableRule`).
//! - [`check_ineffective_matches`]: in a rule that can still be reached, a match entry that
//!   copies one of an earlier rule: **info** (`VirtualServiceIneffectiveMatch`).
//!
//! Entries are compared as written (their `name` aside): two entries that mean the same with
//! different spellings, or an entry that only overlaps an earlier one, are not reported.

use std::collections::HashMap;

use super::diagnostic;
use crate::diagnostics::{Diagnostic, Severity};
use crate::model::{HttpMatchRequest, HttpRoute, Resource, Spec};

/// A rule after a catch-all, or all of whose matches an earlier rule has: never used.
pub fn check_unreachable_rules(resources: &[Resource]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (resource, rules) in virtual_services(resources) {
        let copies = earlier_copies(rules);
        let mut catch_all: Option<usize> = None;
        for (i, rule) in rules.iter().enumerate() {
            let reason = if let Some(first) = catch_all {
                Some(format!(
                    "{} before it matches every request",
                    rule_name(rules, first)
                ))
            } else if !rule.matches.is_empty() && copies[i].iter().all(Option::is_some) {
                Some("each of its matches is already in an earlier rule".to_owned())
            } else {
                None
            };
            if let Some(reason) = reason {
                out.push(diagnostic(
                    resource,
                    Severity::Warning,
                    &format!("spec.http[{i}]"),
                    format!(
                        "VirtualService rule {} is never used: {reason}",
                        rule_name(rules, i)
                    ),
                ));
            }
            if catch_all.is_none() && catches_all(rule) {
                catch_all = Some(i);
            }
        }
    }
    out
}

/// A match entry of a reachable rule that copies one of an earlier rule: it never decides.
pub fn check_ineffective_matches(resources: &[Resource]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (resource, rules) in virtual_services(resources) {
        let copied = earlier_copies(rules);
        for (i, rule) in rules.iter().enumerate() {
            if i > 0 && catches_all(&rules[i - 1]) {
                break; // the rest is unreachable: check_unreachable_rules says so
            }
            let copies: Vec<(usize, usize)> = copied[i]
                .iter()
                .enumerate()
                .filter_map(|(j, k)| k.map(|k| (j, k)))
                .collect();
            if copies.len() == rule.matches.len() {
                continue; // every entry copied: the rule is unreachable, reported there
            }
            for (j, k) in copies {
                out.push(diagnostic(
                    resource,
                    Severity::Info,
                    &format!("spec.http[{i}].match[{j}]"),
                    format!(
                        "VirtualService rule {} match {j} is never the one that matches: \
                         rule {} has the same match and comes first",
                        rule_name(rules, i),
                        rule_name(rules, k)
                    ),
                ));
            }
        }
    }
    out
}

fn virtual_services(resources: &[Resource]) -> impl Iterator<Item = (&Resource, &[HttpRoute])> {
    resources.iter().filter_map(|r| match &r.spec {
        Spec::VirtualService(vs) => Some((r, vs.http.as_slice())),
        _ => None,
    })
}

/// `#2` or, when it has one, `#2 (name)`: the rule's place in `http[]`.
fn rule_name(rules: &[HttpRoute], index: usize) -> String {
    match rules.get(index).and_then(|r| r.name.as_deref()) {
        Some(name) => format!("#{index} ({name})"),
        None => format!("#{index}"),
    }
}

/// A rule that every request matches.
fn catches_all(rule: &HttpRoute) -> bool {
    rule.matches.is_empty() || rule.matches.iter().any(matches_everything)
}

/// An entry with no condition, or whose only condition is a URI prefix of `/`.
fn matches_everything(entry: &HttpMatchRequest) -> bool {
    let mut bare = without_name(entry);
    if bare.uri.as_ref().is_some_and(|uri| {
        uri.prefix.as_deref() == Some("/") && uri.exact.is_none() && uri.regex.is_none()
    }) {
        bare.uri = None;
    }
    bare == HttpMatchRequest::default()
}

/// For each rule, for each of its match entries, the first earlier rule with an equal entry
/// (names aside). One pass over the entries, each written once as a key: a VirtualService of
/// 10,000 rules costs 10,000 keys, not 50 million comparisons.
fn earlier_copies(rules: &[HttpRoute]) -> Vec<Vec<Option<usize>>> {
    let mut first_rule: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        // The entry's `Debug` text is a faithful key: every map in it is ordered.
        let keys: Vec<String> = rule
            .matches
            .iter()
            .map(|m| format!("{:?}", without_name(m)))
            .collect();
        out.push(keys.iter().map(|k| first_rule.get(k).copied()).collect());
        for key in keys {
            first_rule.entry(key).or_insert(i);
        }
    }
    out
}

fn without_name(entry: &HttpMatchRequest) -> HttpMatchRequest {
    HttpMatchRequest {
        name: None,
        ..entry.clone()
    }
}
