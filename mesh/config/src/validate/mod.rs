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
//!
//! Beyond what loading needs, the checks of `istioctl analyze` (all **warnings**, or info):
//! rules that an earlier catch-all makes unreachable and matches an earlier rule already has
//! ([`check_unreachable_rules`], [`check_ineffective_matches`]), VirtualServices bound to a
//! Gateway that does not exist or does not list their hosts ([`check_gateway_refs`],
//! [`check_gateway_hosts`]), and, given the workloads that run, subsets whose labels none of them
//! has ([`check_subset_labels`]). [`analyze`] runs them all, each finding with Istio's code
//! (`IST0101` ...): what `sailkit analyze` prints.
//!
//! # Layout
//! - `virtual_service`, `retries`, `faults`: a VirtualService and its `http[]` rules.
//! - `destination_rule`, `gateway`, `service_entry`: one file per other kind.
//! - `duplicates`, `set`, `hosts`: the checks that need more than one resource.
//! - `unreachable`, `gateway_refs`, `workloads`: the analysis checks, one file per family;
//!   `analysis`: [`analyze`], all of them with Istio's codes.

use std::time::Duration as StdDuration;

use crate::diagnostics::{Diagnostic, Report, Severity};
use crate::model::{Destination, Resource, Spec, VirtualService};

mod analysis;
mod destination_rule;
mod duplicates;
mod faults;
mod gateway;
mod gateway_refs;
mod hosts;
mod retries;
mod service_entry;
mod set;
mod unreachable;
mod virtual_service;
mod workloads;

pub use analysis::{Code, Finding, analyze};
pub use duplicates::check_duplicates;
pub use gateway_refs::{check_gateway_hosts, check_gateway_refs};
pub use hosts::check_hosts;
pub use retries::IMPLEMENTED_RETRY_ON;
pub use set::{check_duplicates_across_files, check_set, check_subsets};
pub use unreachable::{check_ineffective_matches, check_unreachable_rules};
pub use workloads::{Workload, check_subset_labels};

/// Check one deserialized resource.
pub fn check_resource(resource: &Resource, report: &mut Report<'_>) {
    match &resource.spec {
        Spec::VirtualService(vs) => virtual_service::virtual_service(vs, report),
        Spec::DestinationRule(dr) => destination_rule::destination_rule(dr, report),
        Spec::Gateway(gw) => gateway::gateway(gw, report),
        Spec::ServiceEntry(se) => service_entry::service_entry(se, report),
    }
}

/// A field that is valid Istio but that sailkit ignores: a warning when it is set.
fn unimplemented<T>(report: &mut Report<'_>, field: &Option<T>, path: &str) {
    if field.is_some() {
        report.warn(path, "valid Istio, but not implemented by sailkit: ignored");
    }
}

/// Timeouts and fixed delays: Istio refuses durations under 1ms there.
fn at_least_1ms(duration: StdDuration, at: &str, report: &mut Report<'_>) {
    if duration < StdDuration::from_millis(1) {
        report.error(at, "a duration here must be at least 1ms");
    }
}

/// A diagnostic about the field at `path` of `resource`, for the checks across resources.
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
