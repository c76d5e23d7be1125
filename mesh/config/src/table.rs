//! The route table: validated resources compiled into plain data that answers "where does this
//! request go, and how?" without any I/O.
//!
//! [`compile`] does the work once per config change: hosts are qualified (see `host`), regexes
//! compiled, defaults filled in (a lone destination gets weight 100, a fault without a
//! percentage applies to every request), deprecated integer percentages turned into `f64`s. The
//! result is immutable: the proxy swaps in a new table when config changes, and a lookup never
//! waits for anything.
//!
//! Lookup ([`RouteTable::route`]):
//! 1. the request's host gives candidate names (`host::request_candidates`);
//! 2. through a gateway, the Gateway resource must exist and one of its servers on the
//!    gateway's port (`RequestView::port`) must list the host in its `hosts`; otherwise nothing
//!    routes;
//! 3. among VirtualServices bound to the request's gateway (`None` = the sidecar mesh), the one
//!    whose host matches most specifically wins (exact name, then longest wildcard; ties: first
//!    loaded);
//! 4. its `http[]` rules are tried in order; the first rule with a matching `match` entry (or no
//!    `match` at all) wins.
//!
//! Choosing among weighted destinations takes the random number as an argument
//! ([`HttpRule::choose`]), so tests are deterministic and the proxy owns its randomness.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use regex_automata::meta::Regex;

use crate::host;
use crate::model::{
    ClientTlsSettings, ConnectionPoolSettings, DEFAULT_NAMESPACE, Gateway, HeaderOperations,
    Headers, HttpRedirect, HttpRewrite, LoadBalancerSettings, OutlierDetection, Resource,
    ServiceEntry, Spec, StringMatch, Subset, TrafficPolicy,
};

mod regexes;

pub use regexes::UriRegexes;
pub(crate) use regexes::check_regex;
use regexes::{UriHits, compile_regex};

/// Header lookup for matching: implement it for whatever header map the caller has.
/// `name` is lowercase; implementations compare names case-insensitively.
pub trait HeaderSource {
    /// The first value of header `name`, if present and valid text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderSource for [(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
}

impl HeaderSource for &[(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        (**self).header(name)
    }
}

impl<const N: usize> HeaderSource for [(&str, &str); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl HeaderSource for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What routing looks at in a request. Borrowed, so building one costs nothing.
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    /// `Host`/`:authority`, with or without a port.
    pub host: &'a str,
    /// The port the request was addressed to (for `match[].port`); through a gateway, the
    /// gateway's port, which also picks the Gateway's servers.
    pub port: u16,
    pub method: &'a str,
    /// Path without the query string.
    pub path: &'a str,
    /// Raw query string (`a=1&b=2`), without `?`; values are compared as written (not decoded).
    pub query: &'a str,
    pub headers: &'a dyn HeaderSource,
    /// Labels of the calling workload (for `match[].sourceLabels`).
    pub source_labels: &'a BTreeMap<String, String>,
    /// The gateway the request came through, as `name` or `namespace/name`; `None` for a sidecar.
    pub gateway: Option<&'a str>,
}

/// A compiled string match.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Prefix(String),
    /// Anchored: the whole value must match, as in Istio.
    Regex(Regex),
    /// A URI regex, compiled with the other URI regexes of its VirtualService: pattern `n` of
    /// its [`UriRegexes`] (see `table/regexes.rs`). Anchored, like [`Matcher::Regex`].
    UriRegex(usize),
    /// `{}`: the header or parameter only has to be present.
    Present,
}

impl Matcher {
    fn compile(m: &StringMatch) -> Matcher {
        if let Some(exact) = &m.exact {
            Matcher::Exact(exact.clone())
        } else if let Some(prefix) = &m.prefix {
            Matcher::Prefix(prefix.clone())
        } else if let Some(regex) = &m.regex {
            // Validation compiled the unanchored pattern; anchoring cannot break it.
            match compile_regex(regex) {
                Some(regex) => Matcher::Regex(regex),
                None => Matcher::Exact(regex.clone()),
            }
        } else {
            Matcher::Present
        }
    }

    /// Does `value` match? A [`Matcher::UriRegex`] is answered by its VirtualService's
    /// [`UriRegexes`] instead, and says no here.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(exact) => value == exact,
            Matcher::Prefix(prefix) => value.starts_with(prefix.as_str()),
            Matcher::Regex(regex) => regex.is_match(value),
            Matcher::UriRegex(_) => false,
            Matcher::Present => true,
        }
    }
}

/// One compiled `match[]` entry: every condition set must hold.
#[derive(Debug, Clone, Default)]
pub struct RequestMatch {
    pub uri: Option<Matcher>,
    pub method: Option<Matcher>,
    pub headers: Vec<(String, Matcher)>,
    pub without_headers: Vec<(String, Matcher)>,
    pub query_params: Vec<(String, Matcher)>,
    pub port: Option<u16>,
    pub source_labels: BTreeMap<String, String>,
    /// Qualified `namespace/name`, `mesh` for the sidecar; empty = any of the VirtualService's.
    pub gateways: Vec<String>,
}

impl RequestMatch {
    fn matches(&self, request: &RequestView<'_>, gateway: &str, uri_hits: &UriHits<'_>) -> bool {
        self.uri.as_ref().is_none_or(|m| match m {
            Matcher::UriRegex(index) => uri_hits.contains(*index),
            other => other.matches(request.path),
        }) && self
            .method
            .as_ref()
            .is_none_or(|m| m.matches(request.method))
            && self.port.is_none_or(|port| port == request.port)
            && (self.gateways.is_empty() || self.gateways.iter().any(|g| g == gateway))
            && self
                .headers
                .iter()
                .all(|(name, m)| request.headers.header(name).is_some_and(|v| m.matches(v)))
            && !self
                .without_headers
                .iter()
                .any(|(name, m)| request.headers.header(name).is_some_and(|v| m.matches(v)))
            && self
                .query_params
                .iter()
                .all(|(name, m)| query_value(request.query, name).is_some_and(|v| m.matches(v)))
            && self
                .source_labels
                .iter()
                .all(|(k, v)| request.source_labels.get(k) == Some(v))
    }
}

fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// A destination with its weight, ready to use.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedDestination {
    /// Fully qualified host (`reviews.default.svc.cluster.local`).
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<u16>,
    /// Share of traffic; the weights of a rule add up to 100.
    pub weight: u32,
    /// Header changes for requests sent to (and responses from) this destination.
    pub headers: Headers,
}

/// `retries`, with Istio's meaning: `attempts` retries after the first try.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub per_try_timeout: Option<StdDuration>,
    /// Conditions, split: `5xx`, `gateway-error`, `connect-failure`, `refused-stream`, `reset`,
    /// `retriable-4xx`, or a status code such as `503`.
    pub retry_on: Vec<String>,
}

/// A delay fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelayFault {
    pub delay: StdDuration,
    /// Share of requests delayed, 0..=100.
    pub percent: f64,
}

/// An abort fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbortFault {
    pub http_status: u16,
    /// Share of requests aborted, 0..=100.
    pub percent: f64,
}

/// `fault`: delay and/or abort.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultPolicy {
    pub delay: Option<DelayFault>,
    pub abort: Option<AbortFault>,
}

/// `mirror` + `mirrorPercentage`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<u16>,
    /// Share of requests copied, 0..=100 (100 when unset).
    pub percent: f64,
}

/// True for a share of requests: `roll` is uniform in `[0, 1)`, `percent` is 0..=100.
pub fn roll_hits(roll: f64, percent: f64) -> bool {
    roll * 100.0 < percent
}

/// One compiled `http[]` rule.
#[derive(Debug, Clone)]
pub struct HttpRule {
    /// Position in the VirtualService's `http` list.
    pub index: usize,
    pub name: Option<String>,
    /// OR-ed; empty matches every request.
    pub matches: Vec<RequestMatch>,
    pub destinations: Vec<WeightedDestination>,
    pub redirect: Option<HttpRedirect>,
    pub rewrite: Option<HttpRewrite>,
    pub timeout: Option<StdDuration>,
    pub retries: Option<RetryPolicy>,
    pub fault: Option<FaultPolicy>,
    pub mirror: Option<Mirror>,
    /// Header changes for every destination of the rule.
    pub headers: Headers,
}

impl HttpRule {
    /// Pick a destination by weight; `roll` is uniform in `[0, 1)`. `None` only for a redirect rule.
    pub fn choose(&self, roll: f64) -> Option<&WeightedDestination> {
        let total: u32 = self.destinations.iter().map(|d| d.weight).sum();
        let mut target = roll.clamp(0.0, 1.0) * f64::from(total);
        for destination in self.destinations.iter().filter(|d| d.weight > 0) {
            target -= f64::from(destination.weight);
            if target < 0.0 {
                return Some(destination);
            }
        }
        self.destinations
            .iter()
            .rev()
            .find(|d| d.weight > 0)
            .or(self.destinations.last())
    }
}

/// A compiled VirtualService.
#[derive(Debug, Clone)]
pub struct CompiledVirtualService {
    pub name: String,
    pub namespace: String,
    /// Qualified hosts.
    pub hosts: Vec<String>,
    /// Qualified `namespace/name` gateways, or `mesh`.
    pub gateways: Vec<String>,
    pub rules: Vec<HttpRule>,
    /// The URI regexes of `rules`, compiled together; `None` when there are none.
    pub uri_regexes: Option<UriRegexes>,
}

/// The answer to "where does this request go?".
#[derive(Debug, Clone, Copy)]
pub struct RouteDecision<'a> {
    pub virtual_service: &'a CompiledVirtualService,
    /// The winning rule; `rule.index` is its place in `http[]`.
    pub rule: &'a HttpRule,
}

/// The outcome of a lookup, keeping apart "no VirtualService" (send to the host as addressed)
/// and "a VirtualService but no rule matched" (Istio answers 404).
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Matched(RouteDecision<'a>),
    NoRuleMatched(&'a CompiledVirtualService),
    NoVirtualService,
}

/// The traffic policy for one destination after merging (see [`RouteTable::destination_policy`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedPolicy {
    pub load_balancer: Option<LoadBalancerSettings>,
    pub connection_pool: Option<ConnectionPoolSettings>,
    pub outlier_detection: Option<OutlierDetection>,
    pub tls: Option<ClientTlsSettings>,
}

impl ResolvedPolicy {
    fn overlay(&mut self, policy: &TrafficPolicy, port: Option<u16>) {
        self.apply(
            policy.load_balancer.as_ref(),
            policy.connection_pool.as_ref(),
            policy.outlier_detection.as_ref(),
            policy.tls.as_ref(),
        );
        let Some(port) = port else { return };
        if let Some(p) = policy
            .port_level_settings
            .iter()
            .find(|p| p.port.is_some_and(|s| s.number == port))
        {
            self.apply(
                p.load_balancer.as_ref(),
                p.connection_pool.as_ref(),
                p.outlier_detection.as_ref(),
                p.tls.as_ref(),
            );
        }
    }

    fn apply(
        &mut self,
        lb: Option<&LoadBalancerSettings>,
        pool: Option<&ConnectionPoolSettings>,
        outlier: Option<&OutlierDetection>,
        tls: Option<&ClientTlsSettings>,
    ) {
        // Istio overrides whole settings blocks, not single fields inside them.
        if let Some(lb) = lb {
            self.load_balancer = Some(lb.clone());
        }
        if let Some(pool) = pool {
            self.connection_pool = Some(pool.clone());
        }
        if let Some(outlier) = outlier {
            self.outlier_detection = Some(outlier.clone());
        }
        if let Some(tls) = tls {
            self.tls = Some(tls.clone());
        }
    }
}

#[derive(Debug, Clone)]
struct CompiledDestinationRule {
    host: String,
    policy: Option<TrafficPolicy>,
    subsets: Vec<Subset>,
}

/// The immutable result of [`compile`].
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    namespace: String,
    virtual_services: Vec<CompiledVirtualService>,
    destination_rules: Vec<CompiledDestinationRule>,
    gateways: Vec<(String, Gateway)>,
    /// Every Gateway server's host, compiled once: what a gateway lets in (see
    /// [`RouteTable::gateway_admits`]).
    gateway_hosts: Vec<GatewayHost>,
    service_entries: Vec<(String, ServiceEntry)>,
}

/// One host of one server of a Gateway: `(gateway id, server port, qualified host pattern)`.
#[derive(Debug, Clone)]
struct GatewayHost {
    /// `namespace/name` of the Gateway.
    gateway: String,
    port: u16,
    /// The host, qualified as VirtualService hosts are. A Gateway host may carry a namespace
    /// part (`./bookinfo.example.com`, `prod/*`), which only says where the VirtualServices
    /// bound to it may live; the host is what follows `/`.
    pattern: String,
}

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

fn qualify_gateway(gateway: &str, namespace: &str) -> String {
    if gateway == "mesh" || gateway.contains('/') {
        gateway.to_owned()
    } else {
        format!("{namespace}/{gateway}")
    }
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

impl RouteTable {
    /// Route a request: the winning rule, or `None` when no VirtualService applies or none of
    /// its rules matched (use [`RouteTable::lookup`] to tell those apart).
    pub fn route(&self, request: &RequestView<'_>) -> Option<RouteDecision<'_>> {
        match self.lookup(request) {
            Lookup::Matched(decision) => Some(decision),
            _ => None,
        }
    }

    /// Route a request, saying why when nothing matched.
    pub fn lookup(&self, request: &RequestView<'_>) -> Lookup<'_> {
        let candidates = host::request_candidates(request.host, &self.namespace);
        self.lookup_with_candidates(request, &candidates)
    }

    /// [`RouteTable::lookup`], with the request host's candidate names already worked out
    /// (`host::request_candidates(request.host, namespace)`): they depend on the host alone, so
    /// a caller that sees the same hosts again and again can keep them.
    pub fn lookup_with_candidates(
        &self,
        request: &RequestView<'_>,
        candidates: &[String],
    ) -> Lookup<'_> {
        let gateway: std::borrow::Cow<'_, str> = match request.gateway {
            None => "mesh".into(),
            Some(g) => qualify_gateway(g, &self.namespace).into(),
        };
        let gateway = gateway.as_ref();
        // Through a gateway, only the hosts its Gateway's servers list come in at all.
        if request.gateway.is_some() && !self.gateway_admits(gateway, request.port, candidates) {
            return Lookup::NoVirtualService;
        }
        let mut best: Option<(usize, &CompiledVirtualService)> = None;
        for vs in self
            .virtual_services
            .iter()
            .filter(|vs| vs.gateways.iter().any(|g| g == gateway))
        {
            let score = vs
                .hosts
                .iter()
                .flat_map(|pattern| {
                    candidates
                        .iter()
                        .filter_map(move |c| host::match_score(pattern, c))
                })
                .max();
            if let Some(score) = score
                && best.is_none_or(|(b, _)| score > b)
            {
                best = Some((score, vs));
            }
        }
        let Some((_, vs)) = best else {
            return Lookup::NoVirtualService;
        };
        let uri_hits = UriHits::new(vs.uri_regexes.as_ref(), request.path);
        let rule = vs.rules.iter().find(|rule| {
            rule.matches.is_empty()
                || rule
                    .matches
                    .iter()
                    .any(|m| m.matches(request, gateway, &uri_hits))
        });
        match rule {
            Some(rule) => Lookup::Matched(RouteDecision {
                virtual_service: vs,
                rule,
            }),
            None => Lookup::NoRuleMatched(vs),
        }
    }

    /// True when the Gateway resource `gateway` (`namespace/name`) exists and one of its servers
    /// on `port` (the gateway's port) lists the request host (any of `candidates`) in `hosts`.
    fn gateway_admits(&self, gateway: &str, port: u16, candidates: &[String]) -> bool {
        self.gateway_hosts
            .iter()
            .filter(|h| h.port == port && h.gateway == gateway)
            .any(|h| {
                candidates
                    .iter()
                    .any(|c| host::match_score(&h.pattern, c).is_some())
            })
    }

    /// The traffic policy towards `host` (qualified, as in [`WeightedDestination::host`]), its
    /// `subset` and `port`, merged from general to specific: the DestinationRule's policy, its
    /// `portLevelSettings` for the port, the subset's policy, the subset's port-level settings.
    pub fn destination_policy(
        &self,
        host: &str,
        subset: Option<&str>,
        port: Option<u16>,
    ) -> ResolvedPolicy {
        let mut resolved = ResolvedPolicy::default();
        let Some(dr) = self.destination_rule(host) else {
            return resolved;
        };
        if let Some(policy) = &dr.policy {
            resolved.overlay(policy, port);
        }
        if let Some(policy) = subset
            .and_then(|name| dr.subsets.iter().find(|s| s.name == name))
            .and_then(|s| s.traffic_policy.as_ref())
        {
            resolved.overlay(policy, port);
        }
        resolved
    }

    /// The labels that select the instances of `subset` of `host`, if a DestinationRule defines it.
    pub fn subset_labels(&self, host: &str, subset: &str) -> Option<&BTreeMap<String, String>> {
        self.destination_rule(host)?
            .subsets
            .iter()
            .find(|s| s.name == subset)
            .map(|s| &s.labels)
    }

    fn destination_rule(&self, host: &str) -> Option<&CompiledDestinationRule> {
        let mut best: Option<(usize, &CompiledDestinationRule)> = None;
        for dr in &self.destination_rules {
            if let Some(score) = host::match_score(&dr.host, host)
                && best.is_none_or(|(b, _)| score > b)
            {
                best = Some((score, dr));
            }
        }
        best.map(|(_, dr)| dr)
    }

    /// Every compiled VirtualService, in load order.
    pub fn virtual_services(&self) -> &[CompiledVirtualService] {
        &self.virtual_services
    }

    /// Gateways by `namespace/name`.
    pub fn gateways(&self) -> &[(String, Gateway)] {
        &self.gateways
    }

    /// ServiceEntries by `namespace/name`.
    pub fn service_entries(&self) -> &[(String, ServiceEntry)] {
        &self.service_entries
    }
}

/// Apply header operations in Istio's order (remove, then set, then add) to a list of headers.
/// A helper for tests and simple callers; the proxy applies the same order to its own header map.
pub fn apply_header_operations(ops: &HeaderOperations, headers: &mut Vec<(String, String)>) {
    headers.retain(|(name, _)| !ops.remove.iter().any(|r| r.eq_ignore_ascii_case(name)));
    for (name, value) in &ops.set {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    for (name, value) in &ops.add {
        headers.push((name.clone(), value.clone()));
    }
}
