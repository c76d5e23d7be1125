//! Stage `route`: match the request against the route table and decide where it goes.
//!
//! Everything here is a pure function of the request, the route table and one random number:
//! no I/O, no waiting. The result, [`Route`], is owned, so the later stages do not borrow the
//! config snapshot's internals. Three outcomes, as in Istio:
//! - a VirtualService rule matched: its weighted destinations are rolled (`HttpRule::choose`),
//!   or, for a `redirect` rule, [`Routed::Redirect`] (the `redirect` stage answers it);
//! - no VirtualService for the host: the service as addressed, every instance, default policy;
//! - a VirtualService, but no rule matched: 404 `NR` (the request is not sent anywhere).
//!
//! Most of that work depends on the table and the host alone, not on the request: the candidate
//! names of a host, the [`Route`] built for a rule's destination, the default route of a host
//! without a VirtualService. [`Memo`] keeps them for the table they came from, so a request
//! like an earlier one allocates nothing here.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, Request};
use mesh_config::model::{
    ConnectionPoolSettings, ConsistentHashLb, HeaderOperations, HttpRedirect, OutlierDetection,
    SimpleLb,
};
use mesh_config::table::Matcher;
use mesh_config::{FaultPolicy, HeaderSource, Lookup, RequestView, RetryPolicy, RouteTable};

use crate::error::ProxyError;

/// What the route stage decided.
#[derive(Debug, Clone)]
pub enum Routed {
    /// Send it upstream.
    Forward(Arc<Route>),
    /// Answer with a redirect, never calling an upstream.
    Redirect {
        /// For the access log, as [`Route::name`].
        name: String,
        redirect: HttpRedirect,
        /// The rule's `fault`, which applies before the redirect.
        fault: Option<FaultPolicy>,
    },
}

/// Where a rule's `mirror` sends copies.
#[derive(Debug, Clone)]
pub struct MirrorTarget {
    /// Qualified host of the mirror service.
    pub host: String,
    /// The mirror subset's labels; `None` means every endpoint.
    pub selector: Option<BTreeMap<String, String>>,
    /// Share of requests copied, 0..=100.
    pub percent: f64,
}

/// Where a request goes and with which policies, decided once per request.
#[derive(Debug, Clone)]
pub struct Route {
    /// For the access log: `<virtual service>/<rule name or http[i]>`, or `default/<service>`.
    pub name: String,
    /// Qualified destination host (`reviews.default.svc.cluster.local`).
    pub host: String,
    /// The subset's name and label selector; `None` means every endpoint of the service.
    pub subset: Option<String>,
    pub selector: Option<BTreeMap<String, String>>,
    pub fault: Option<FaultPolicy>,
    pub timeout: Option<Duration>,
    /// The rule's `retries`; `None` when it has none (the `retry` stage applies the default).
    pub retries: Option<RetryPolicy>,
    pub load_balancer: Option<SimpleLb>,
    /// `loadBalancer.consistentHash`, when the DestinationRule asks for it.
    pub consistent_hash: Option<ConsistentHashLb>,
    /// The rule's `mirror`, resolved; `None` without one (or with an undefined subset).
    pub mirror: Option<MirrorTarget>,
    /// The destination's `connectionPool` and `outlierDetection`, for `circuit_breaker` and
    /// `outlier`.
    pub connection_pool: Option<ConnectionPoolSettings>,
    pub outlier_detection: Option<OutlierDetection>,
    /// Rule-level, then destination-level header operations.
    pub request_headers: Vec<HeaderOperations>,
    pub response_headers: Vec<HeaderOperations>,
    /// `rewrite.uri`: the new path (query kept), already worked out.
    pub path: Option<String>,
    /// `rewrite.authority`: the new `Host`.
    pub authority: Option<String>,
}

impl Route {
    /// A route to `host` as addressed, with no rule: every endpoint, default policies, no
    /// rewrites (used when no VirtualService applies, and by the inbound side).
    pub fn direct(name: String, host: String) -> Route {
        Route {
            name,
            host,
            subset: None,
            selector: None,
            fault: None,
            timeout: None,
            retries: None,
            load_balancer: None,
            consistent_hash: None,
            mirror: None,
            connection_pool: None,
            outlier_detection: None,
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            path: None,
            authority: None,
        }
    }
}

/// `HeaderSource` over hyper's header map (lookups there are already case-insensitive).
struct Headers<'a>(&'a HeaderMap);

impl HeaderSource for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The host the caller addressed: the authority of an absolute-form URI (what an `HTTP_PROXY`
/// client sends), else the `Host` header.
pub fn authority<B>(request: &Request<B>) -> Result<String, ProxyError> {
    request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|a| !a.is_empty())
        .ok_or(ProxyError::NoHost)
}

fn port_of(authority: &str) -> u16 {
    authority
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or(80)
}

/// How many hosts [`Memo`] remembers before it starts afresh: requests may carry any `Host`, and
/// the memory they can claim must have a bound.
const MEMO_HOSTS: usize = 1024;

/// Work `route` did once for a route table, kept beside it (in `state::Routes`, so a reload
/// starts afresh). Lookups hold a lock only to copy an `Arc` out.
#[derive(Debug, Default)]
pub struct Memo {
    /// Each host's candidate names (`host::request_candidates`).
    candidates: Mutex<HashMap<String, Arc<[String]>>>,
    /// The route of each destination of each rule, by the destination's address in the table
    /// (stable: the table is immutable and outlives the memo). Rules with `rewrite.uri` are
    /// not kept: their path depends on the request.
    destinations: Mutex<HashMap<usize, Arc<Route>>>,
    /// The default route of each host that has no VirtualService.
    defaults: Mutex<HashMap<String, Arc<Route>>>,
}

impl Memo {
    fn candidates(&self, authority: &str, namespace: &str) -> Arc<[String]> {
        let make = || mesh_config::host::request_candidates(authority, namespace).into();
        let Ok(mut memo) = self.candidates.lock() else {
            return make();
        };
        if let Some(found) = memo.get(authority) {
            return found.clone();
        }
        if memo.len() >= MEMO_HOSTS {
            memo.clear();
        }
        let made: Arc<[String]> = make();
        memo.insert(authority.to_owned(), made.clone());
        made
    }
}

/// Get `key` from `map`, or build it with `make` and keep it (unless the map is full).
fn remembered<K, Q>(
    map: &Mutex<HashMap<K, Arc<Route>>>,
    key: &Q,
    owned: impl FnOnce() -> K,
    make: impl FnOnce() -> Result<Route, ProxyError>,
) -> Result<Arc<Route>, ProxyError>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(found) = map.lock().ok().and_then(|m| m.get(key).cloned()) {
        return Ok(found);
    }
    let made = Arc::new(make()?);
    if let Ok(mut m) = map.lock() {
        if m.len() >= MEMO_HOSTS {
            m.clear();
        }
        m.insert(owned(), made.clone());
    }
    Ok(made)
}

/// Who routes: a sidecar (the mesh's VirtualServices) or an ingress gateway (the ones bound
/// to it), and the labels of the workload making the calls.
#[derive(Debug, Clone, Copy)]
pub struct Router<'a> {
    /// The namespace short host names resolve in.
    pub namespace: &'a str,
    /// The labels of this sidecar's own workload (the caller), for `match[].sourceLabels`.
    pub source_labels: &'a BTreeMap<String, String>,
    /// `Some(name)` when this proxy is the ingress gateway `name` (`--gateway`).
    pub gateway: Option<&'a str>,
    /// A gateway's port (`--gateway-port`): which of the Gateway's servers it stands for, and
    /// the port `match[].port` compares with. A sidecar takes the port from the request's host.
    pub gateway_port: u16,
}

/// Decide the route. `roll` is uniform in `[0, 1)` and picks among weighted destinations.
pub fn route<B>(
    table: &RouteTable,
    memo: &Memo,
    router: Router<'_>,
    request: &Request<B>,
    authority: &str,
    roll: f64,
) -> Result<Routed, ProxyError> {
    let Router {
        namespace,
        source_labels,
        gateway,
        gateway_port,
    } = router;
    let path = request.uri().path();
    let headers = Headers(request.headers());
    let view = RequestView {
        host: authority,
        port: if gateway.is_some() {
            gateway_port
        } else {
            port_of(authority)
        },
        method: request.method().as_str(),
        path,
        query: request.uri().query().unwrap_or(""),
        headers: &headers,
        source_labels,
        gateway,
    };
    let candidates = memo.candidates(authority, namespace);
    let decision = match table.lookup_with_candidates(&view, &candidates) {
        Lookup::Matched(decision) => decision,
        Lookup::NoRuleMatched(_) => return Err(ProxyError::NoRouteMatched),
        // A gateway lets in only what its VirtualServices route.
        Lookup::NoVirtualService if gateway.is_some() => return Err(ProxyError::NoRouteMatched),
        Lookup::NoVirtualService => {
            let route = remembered(
                &memo.defaults,
                authority,
                || authority.to_owned(),
                || Ok(default_route(table, authority, &candidates)),
            )?;
            return Ok(Routed::Forward(route));
        }
    };
    let rule = decision.rule;
    let vs_name = decision.virtual_service.name.as_str();
    if let Some(redirect) = &rule.redirect {
        return Ok(Routed::Redirect {
            name: rule_name(vs_name, rule),
            redirect: redirect.clone(),
            fault: rule.fault,
        });
    }
    let destination = rule
        .choose(roll)
        .ok_or(ProxyError::Unsupported("rule without destination"))?;
    let build = || destination_route(table, vs_name, rule, destination, path);
    let route = if rule.rewrite.as_ref().is_some_and(|r| r.uri.is_some()) {
        Arc::new(build()?)
    } else {
        let key = std::ptr::from_ref(destination).addr();
        remembered(&memo.destinations, &key, || key, build)?
    };
    Ok(Routed::Forward(route))
}

/// For the access log: `<virtual service>/<rule name or http[i]>`.
fn rule_name(virtual_service: &str, rule: &mesh_config::HttpRule) -> String {
    match &rule.name {
        Some(name) => format!("{virtual_service}/{name}"),
        None => format!("{virtual_service}/http[{}]", rule.index),
    }
}

/// The route of a host without a VirtualService: the service as addressed (its first
/// candidate name), every endpoint, the DestinationRule's policy if there is one.
fn default_route(table: &RouteTable, authority: &str, candidates: &[String]) -> Route {
    let short = mesh_config::host::strip_port(authority);
    let host = candidates
        .first()
        .cloned()
        .unwrap_or_else(|| short.to_owned());
    let policy = table.destination_policy(&host, None, None);
    let mut route = Route::direct(format!("default/{short}"), host);
    route.load_balancer = policy.load_balancer.as_ref().and_then(|lb| lb.simple);
    route.consistent_hash = policy.load_balancer.and_then(|lb| lb.consistent_hash);
    route.connection_pool = policy.connection_pool;
    route.outlier_detection = policy.outlier_detection;
    route
}

/// The route to one weighted destination of a rule, with the rule's and the destination's
/// policies resolved. `path` only matters for a `rewrite.uri`.
fn destination_route(
    table: &RouteTable,
    virtual_service: &str,
    rule: &mesh_config::HttpRule,
    destination: &mesh_config::table::WeightedDestination,
    path: &str,
) -> Result<Route, ProxyError> {
    let selector = match &destination.subset {
        None => None,
        Some(subset) => Some(
            table
                .subset_labels(&destination.host, subset)
                .cloned()
                // Istio accepts a route to an undefined subset and answers 503 at run time.
                .ok_or_else(|| {
                    ProxyError::NoCluster(format!("{} subset {subset}", destination.host))
                })?,
        ),
    };
    let policy = table.destination_policy(
        &destination.host,
        destination.subset.as_deref(),
        destination.port,
    );
    let operations = |pick: fn(&mesh_config::model::Headers) -> Option<&HeaderOperations>| {
        [pick(&rule.headers), pick(&destination.headers)]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    };
    // A mirror to an undefined subset mirrors nothing: the copy is optional, the request is not.
    let mirror = rule.mirror.as_ref().and_then(|m| {
        let selector = match &m.subset {
            None => None,
            Some(subset) => Some(table.subset_labels(&m.host, subset)?.clone()),
        };
        Some(MirrorTarget {
            host: m.host.clone(),
            selector,
            percent: m.percent,
        })
    });
    Ok(Route {
        name: rule_name(virtual_service, rule),
        host: destination.host.clone(),
        subset: destination.subset.clone(),
        selector,
        fault: rule.fault,
        timeout: rule.timeout.filter(|t| !t.is_zero()),
        retries: rule.retries.clone(),
        load_balancer: policy.load_balancer.as_ref().and_then(|lb| lb.simple),
        consistent_hash: policy.load_balancer.and_then(|lb| lb.consistent_hash),
        mirror,
        connection_pool: policy.connection_pool,
        outlier_detection: policy.outlier_detection,
        request_headers: operations(|h| h.request.as_ref()),
        response_headers: operations(|h| h.response.as_ref()),
        path: rule
            .rewrite
            .as_ref()
            .and_then(|r| r.uri.as_deref())
            .map(|uri| rewrite_path(rule, path, uri)),
        authority: rule.rewrite.as_ref().and_then(|r| r.authority.clone()),
    })
}

/// Istio's `rewrite.uri`: replaces the prefix that matched, or the whole path otherwise.
fn rewrite_path(rule: &mesh_config::HttpRule, path: &str, replacement: &str) -> String {
    let matched_prefix = rule.matches.iter().find_map(|m| match &m.uri {
        Some(Matcher::Prefix(prefix)) if path.starts_with(prefix.as_str()) => Some(prefix.len()),
        _ => None,
    });
    match matched_prefix {
        Some(len) => format!("{replacement}{}", &path[len..]),
        None => replacement.to_owned(),
    }
}
