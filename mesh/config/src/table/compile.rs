//! [`compile`]: validated resources become a [`RouteTable`], once per config change.
//!
//! Hosts are qualified (see `host`), regexes compiled, defaults filled in (a lone destination
//! gets weight 100, a fault without a percentage applies to every request), deprecated integer
//! percentages turned into `f64`s.

use std::collections::BTreeMap;

use super::RouteTable;
use super::describe::describe;
use super::gateway::{GatewayHost, qualify_gateway};
use super::matcher::{Matcher, RequestMatch};
use super::policy::CompiledDestinationRule;
use super::regexes::UriRegexes;
use super::rule::{
    AbortFault, CompiledVirtualService, DelayFault, FaultPolicy, HttpRule, Mirror, RetryPolicy,
    WeightedDestination,
};
use crate::host;
use crate::model::{DEFAULT_NAMESPACE, Resource, Spec, StringMatch};

/// Compile for a proxy in namespace `default`.
pub fn compile(resources: &[Resource]) -> RouteTable {
    compile_in(resources, DEFAULT_NAMESPACE)
}

/// Compile for a proxy whose workload lives in `namespace` (short request hosts resolve there).
/// `resources` should have passed loading without errors.
pub fn compile_in(resources: &[Resource], namespace: &str) -> RouteTable {
    let mut table = RouteTable {
        namespace: namespace.to_owned(),
        ..RouteTable::default()
    };
    for resource in resources {
        let ns = resource.namespace();
        let id = format!("{ns}/{}", resource.metadata.name);
        match &resource.spec {
            Spec::VirtualService(vs) => {
                let gateways = if vs.gateways.is_empty() {
                    vec!["mesh".to_owned()]
                } else {
                    vs.gateways.iter().map(|g| qualify_gateway(g, ns)).collect()
                };
                let uri_patterns: Vec<&str> = vs
                    .http
                    .iter()
                    .flat_map(|rule| &rule.matches)
                    .filter_map(|m| m.uri.as_ref()?.regex.as_deref())
                    .collect();
                let uri_regexes = UriRegexes::compile(&uri_patterns);
                // Numbers the URI regexes in the order `uri_patterns` lists them.
                let mut next_uri_regex = uri_regexes.as_ref().map(|_| 0);
                table.virtual_services.push(CompiledVirtualService {
                    name: resource.metadata.name.clone(),
                    namespace: ns.to_owned(),
                    hosts: vs.hosts.iter().map(|h| host::qualify(h, ns)).collect(),
                    gateways,
                    rules: vs
                        .http
                        .iter()
                        .enumerate()
                        .map(|(i, rule)| compile_rule(i, rule, ns, &mut next_uri_regex))
                        .collect(),
                    uri_regexes,
                });
            }
            Spec::DestinationRule(dr) => table.destination_rules.push(CompiledDestinationRule {
                id: id.clone(),
                host: host::qualify(&dr.host, ns),
                policy: dr.traffic_policy.clone(),
                subsets: dr.subsets.clone(),
            }),
            Spec::Gateway(gw) => {
                for server in &gw.servers {
                    for listed in &server.hosts {
                        let listed = listed.split_once('/').map_or(listed.as_str(), |(_, h)| h);
                        table.gateway_hosts.push(GatewayHost {
                            gateway: id.clone(),
                            port: server.port.number,
                            pattern: host::qualify(listed, ns),
                        });
                    }
                }
                table.gateways.push((id, gw.clone()));
            }
            Spec::ServiceEntry(se) => table.service_entries.push((id, se.clone())),
        }
    }
    table
}

/// `next_uri_regex` is the number of the rule's first URI regex in its VirtualService's
/// [`UriRegexes`], or `None` when they were not compiled together.
fn compile_rule(
    index: usize,
    rule: &crate::model::HttpRoute,
    ns: &str,
    next_uri_regex: &mut Option<usize>,
) -> HttpRule {
    let single = rule.route.len() == 1;
    let destinations = rule
        .route
        .iter()
        .map(|r| WeightedDestination {
            host: host::qualify(&r.destination.host, ns),
            subset: r.destination.subset.clone(),
            port: r.destination.port.map(|p| p.number),
            // A lone destination takes all the traffic, whatever its weight says.
            weight: if single { 100 } else { r.weight.unwrap_or(0) },
            headers: r.headers.clone().unwrap_or_default(),
        })
        .collect();
    let matches = rule
        .matches
        .iter()
        .map(|m| {
            let pairs = |map: &BTreeMap<String, StringMatch>| {
                map.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), Matcher::compile(v)))
                    .collect()
            };
            RequestMatch {
                uri: m
                    .uri
                    .as_ref()
                    .map(|uri| match (&uri.regex, next_uri_regex.as_mut()) {
                        (Some(_), Some(next)) => {
                            *next += 1;
                            Matcher::UriRegex(*next - 1)
                        }
                        _ => Matcher::compile(uri),
                    }),
                method: m.method.as_ref().map(Matcher::compile),
                headers: pairs(&m.headers),
                without_headers: pairs(&m.without_headers),
                query_params: m
                    .query_params
                    .iter()
                    .map(|(k, v)| (k.clone(), Matcher::compile(v)))
                    .collect(),
                port: m.port,
                source_labels: m.source_labels.clone(),
                gateways: m.gateways.iter().map(|g| qualify_gateway(g, ns)).collect(),
                description: describe(m),
            }
        })
        .collect();
    let fault = rule.fault.as_ref().map(|f| FaultPolicy {
        delay: f.delay.as_ref().and_then(|d| {
            Some(DelayFault {
                delay: d.fixed_delay?.get(),
                percent: percent(d.percentage, d.percent),
            })
        }),
        abort: f.abort.as_ref().and_then(|a| {
            Some(AbortFault {
                http_status: a.http_status?,
                percent: percent(a.percentage, a.percent),
            })
        }),
    });
    HttpRule {
        index,
        name: rule.name.clone(),
        matches,
        destinations,
        redirect: rule.redirect.clone(),
        rewrite: rule.rewrite.clone(),
        timeout: rule.timeout.map(|t| t.get()),
        retries: rule.retries.as_ref().map(|r| RetryPolicy {
            attempts: r.attempts.unwrap_or(0),
            per_try_timeout: r.per_try_timeout.map(|t| t.get()),
            retry_on: r
                .retry_on
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        }),
        fault,
        mirror: rule.mirror.as_ref().map(|m| Mirror {
            host: host::qualify(&m.host, ns),
            subset: m.subset.clone(),
            port: m.port.map(|p| p.number),
            percent: rule
                .mirror_percentage
                .map(|p| p.value)
                .or(rule.mirror_percent.map(f64::from))
                .unwrap_or(100.0),
        }),
        headers: rule.headers.clone().unwrap_or_default(),
    }
}

/// `percentage.value`, else the deprecated integer `percent`, else all requests.
fn percent(percentage: Option<crate::model::Percent>, legacy: Option<u32>) -> f64 {
    percentage
        .map(|p| p.value)
        .or(legacy.map(f64::from))
        .unwrap_or(100.0)
}
