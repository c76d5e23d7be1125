//! The outbound side: requests from the local application to other services.
//!
//! The application reaches it as its `HTTP_PROXY` (absolute form, `GET http://reviews:9080/...`)
//! or directly with a `Host` header. [`handle`] is the whole life of a request, assembled from
//! the stages in this order:
//!
//! | # | stage                 | job                                                          |
//! |---|-----------------------|--------------------------------------------------------------|
//! | 0 | `trace`               | client span, trace context and `x-request-id` in the headers |
//! | 1 | `stage::route`        | pick the rule and destination (pure lookup)                  |
//! | 2 | `stage::fault`        | injected delay, then abort                                   |
//! |2b | `stage::redirect`     | a `redirect` rule is answered here, no upstream called       |
//! | 3 | `stage::forward`      | `prepare`: origin form, headers, body buffered for retries  |
//! |3b | `stage::mirror`       | fire-and-forget copy to the `mirror` destination            |
//! | 4 | `stage::timeout`      | the route's deadline over everything below                   |
//! | 5 | `stage::retry`        | attempts, per-try timeout, retry conditions, retry budget    |
//! | 6 | `stage::circuit_breaker` | `connectionPool` limits of the destination (`UO`)         |
//! | 7 | `stage::balance`      | the endpoint for this attempt, skipping `outlier` ejections  |
//! | 8 | `stage::forward`      | `send` on a pooled connection, then `respond`                |
//! | 9 | `stage::outlier`      | the attempt's result counts towards ejecting its endpoint    |
//! |10 | `rescue`              | any error above becomes the caller's response                |
//! |11 | `stage::access_log`   | one line when the response body ends, and Istio's metrics    |
//!
//! A failure the caller caused (a malformed or cut-off body: 400 `DPE` or `DC`; a deadline
//! passed while waiting for its body: 408) is told apart in `forward` and here, and then
//! skipped by 5. retry and 9. outlier: one client's bad requests never eject an endpoint.
//!
//! Istio's metrics (`reporter="source"`) name the service `balance` looked up and the workload
//! of the last attempt's endpoint; `prepare` is followed by `peer::stamp`, the signed name of
//! this proxy that lets the callee's proxy name the caller.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::Proxy;
use crate::body::Body;
use crate::error::ProxyError;
use crate::metrics::Call;
use crate::registry::Service;
use crate::server::ClientAddr;
use crate::stage::access_log::{Entry, InFlight, LoggedBody};
use crate::stage::circuit_breaker::{self, Breaker, Destination, Limits, Permit, Slot};
use crate::stage::{
    balance, fault, forward, mirror, outlier, redirect, retry, retry_budget, route, timeout,
};
use crate::{peer, rescue};

/// One request, start to finish. Never fails: errors are answered by `rescue`.
pub async fn handle(proxy: Arc<Proxy>, mut request: Request<Incoming>) -> Response<LoggedBody> {
    let mut in_flight = InFlight::start(&request, proxy.clone());
    // 0. trace: a client span, this hop's context and `x-request-id` in the headers before any
    //    stage reads them (`trace`).
    in_flight.entry().trace = proxy.tracing.outbound(&mut request);
    let response = match life(&proxy, request, in_flight.entry()).await {
        Ok(response) => response,
        Err(error) => rescue::respond(&error, &proxy, in_flight.entry()),
    };
    in_flight.finish(response)
}

async fn life(
    proxy: &Proxy,
    request: Request<Incoming>,
    entry: &mut Entry,
) -> Result<Response<Body>, ProxyError> {
    // One view of config and registry for the whole request, even if a reload lands meanwhile.
    let snapshot = proxy.state.load_full();
    let (Some(routes), Some(registry)) = (&snapshot.routes, &snapshot.registry) else {
        return Err(ProxyError::NotReady);
    };
    let namespace = &proxy.settings.namespace;

    // 1. route: decided before anything else, since every later stage follows the rule.
    let authority = route::authority(&request)?;
    let router = route::Router {
        namespace,
        source_labels: &proxy.labels,
        gateway: proxy.settings.gateway.as_deref(),
        gateway_port: proxy.settings.gateway_port.unwrap_or(0),
    };
    let route = match route::route(
        &routes.table,
        &routes.memo,
        router,
        &request,
        &authority,
        fastrand::f64(),
    )? {
        route::Routed::Forward(route) => route,
        route::Routed::Redirect {
            name,
            redirect,
            fault,
        } => {
            // 2. fault, then 2b. redirect: the proxy answers, nothing is sent upstream.
            entry.route_name = name;
            fault::inject(fault.as_ref(), &mut entry.flags).await?;
            return Ok(redirect::respond(&redirect, request.uri(), &authority));
        }
    };
    entry.route_name.clone_from(&route.name);
    entry.trace.routed(&route, &authority);

    // The destination service is known from the route: a request the fault below delays or
    // aborts is still counted against it (as Istio does), though no instance is ever chosen.
    let service = balance::service(registry, &route.host);
    if let Ok(service) = &service {
        entry.call.service = service.metric;
    }

    // 2. fault: before the body is read or an upstream chosen, so an abort never reaches the
    //    upstream, and outside `timeout`, so a delay does not eat the route's deadline.
    fault::inject(route.fault.as_ref(), &mut entry.flags).await?;

    // The consistent-hash key comes from the caller's request as it arrived (before `prepare`
    // applies the rule's header operations).
    let hash_key = balance::hash_key(
        route.consistent_hash.as_ref(),
        request.headers(),
        request.extensions().get::<ClientAddr>().map(|c| c.0),
    );

    // 3. forward (prepare): a small body is read now, so that retries can send it again.
    let mut outgoing = forward::prepare(request, &authority, &route).await?;
    entry.bytes_in = outgoing.body_len();
    // The callee's proxy learns who calls from this signed header (and only from it).
    peer::stamp(outgoing.headers_mut(), snapshot.peers.as_deref());
    let service = service?;
    // Counted until the last attempt is over: the default retry budget is a share of this.
    let _in_progress = service.load.start();
    let strategy = balance::Strategy::from_config(route.load_balancer, hash_key);

    // 3b. mirror: after `prepare`, so the copy is exactly what the upstream gets (Host aside);
    //     from its own task, so it never delays or fails this request.
    if let Some(target) = &route.mirror {
        mirror::send(&proxy.client, registry, target, &outgoing);
    }
    let policy = if outgoing.replayable() {
        retry::Policy::for_route(route.retries.as_ref())
    } else {
        retry::Policy::none()
    };

    // The destination's live state for 6. circuit_breaker and 9. outlier, only when its
    // DestinationRule asks for them (so the default path takes no lock and no map lookup).
    // Both act per attempt, inside `retry` (see `Upstream::attempt`): each attempt holds its own
    // connection, and each attempt's result is news about one endpoint.
    let limits = route
        .connection_pool
        .as_ref()
        .map(Limits::from_config)
        .filter(|l| !l.unlimited());
    let detection = route
        .outlier_detection
        .as_ref()
        .map(outlier::Config::from_config);
    let (breaker, outliers) = if limits.is_some() || detection.is_some() {
        let destination = Destination {
            host: route.host.clone(),
            subset: route.subset.clone(),
        };
        (
            limits.map(|l| proxy.breakers.get(&destination, l)),
            detection.map(|c| proxy.detectors.get(&destination, c)),
        )
    } else {
        (None, None)
    };

    // 4. timeout wraps 5. retry: the route's deadline covers all attempts together.
    let mut upstream = Upstream {
        proxy,
        service,
        route: &route,
        strategy,
        outgoing: &mut outgoing,
        tried: Vec::new(),
        breaker,
        outliers,
        permit: None,
        retry_slot: None,
        budget: None,
        sending: None,
        call: &mut entry.call,
    };
    let result = {
        let attempts = std::pin::pin!(retry::run(
            &policy,
            &mut entry.flags,
            &proxy.stats.retries,
            &mut upstream,
        ));
        timeout::within(route.timeout, attempts).await
    };
    // A deadline that passed while the proxy was waiting for the caller's body is the
    // caller's slowness: 408, and no endpoint is blamed (`settle_cancelled`).
    let result = result.map_err(|error| match error {
        ProxyError::Timeout if upstream.outgoing.waiting_for_caller() => {
            ProxyError::DownstreamTimeout
        }
        other => other,
    });
    // Otherwise the deadline may have cut an attempt short: that counts against its endpoint.
    upstream.settle_cancelled();
    entry.upstream = upstream.tried.last().copied();
    let permit = upstream.permit.take();
    let response = forward::respond(result?, &route);
    // The connection stays busy until the body is sent: the breaker's permit goes with it.
    Ok(match permit {
        Some(permit) => response.map(|body| circuit_breaker::hold(body, permit)),
        None => response,
    })
}

/// What one attempt needs: `retry` calls [`Upstream::attempt`] once per try.
struct Upstream<'a> {
    proxy: &'a Proxy,
    service: &'a Service,
    route: &'a route::Route,
    strategy: balance::Strategy,
    outgoing: &'a mut forward::Outgoing,
    /// Endpoints of earlier attempts, so a retry can go elsewhere.
    tried: Vec<SocketAddr>,
    breaker: Option<Arc<Breaker>>,
    outliers: Option<Arc<outlier::Pool>>,
    /// The circuit breaker capacity held by the latest attempt.
    permit: Option<Permit>,
    /// The `maxRetries` unit held by the retry in progress.
    retry_slot: Option<Slot>,
    /// The default retry budget's unit held by the retry in progress (without `maxRetries`).
    budget: Option<retry_budget::Retry<'a>>,
    /// The endpoint of an attempt that was sent and has not answered yet.
    sending: Option<SocketAddr>,
    /// Istio's metrics name the latest attempt's endpoint, even if the caller hangs up before
    /// it answers.
    call: &'a mut Call,
}

impl Upstream<'_> {
    /// Count an attempt's result for outlier detection; the endpoint count is only worked out
    /// when an ejection is considered.
    fn record(&self, address: SocketAddr, status: u16) {
        let Some(pool) = &self.outliers else { return };
        let endpoints = || balance::in_subset(self.service, self.route.selector.as_ref()).len();
        if pool.record(address, status, endpoints) {
            self.proxy.stats.outlier_ejections.increment();
            tracing::warn!(endpoint = %address, host = %self.route.host, "outlier ejected");
        }
    }

    /// An attempt that never finished was cut short by a timeout (per try, or the route's):
    /// for outlier detection that is a 504 from its endpoint, unless the proxy was waiting for
    /// the caller's body at the time (the caller was the slow one).
    fn settle_cancelled(&mut self) {
        if let Some(address) = self.sending.take()
            && !self.outgoing.waiting_for_caller()
        {
            self.record(address, 504);
        }
    }
}

impl retry::Attempt for Upstream<'_> {
    type Body = Body;

    async fn attempt(&mut self) -> Result<Response<Body>, ProxyError> {
        self.settle_cancelled();
        // 6. circuit_breaker: per attempt, because each attempt needs its own connection, and
        //    before balance, so that a request that waited for capacity picks its endpoint with
        //    fresh load and ejection data. The previous attempt's capacity is given back first
        //    (with `maxConnections: 1`, a retry must not wait for its own first try).
        self.permit = None;
        if let Some(breaker) = &self.breaker {
            match breaker.admit().await {
                Ok(permit) => self.permit = Some(permit),
                Err(error) => {
                    self.proxy.stats.pending_overflow.increment();
                    return Err(error);
                }
            }
        }
        // 7. balance: each attempt picks again, preferring endpoints not tried yet and
        //    skipping the ones outlier detection ejected.
        let endpoint = balance::pick(
            self.service,
            self.route.selector.as_ref(),
            self.strategy,
            &self.tried,
            self.outliers.as_deref(),
        )?;
        self.tried.push(endpoint.address);
        self.call.peer = endpoint.workload;
        let policy = self
            .breaker
            .as_ref()
            .map(|b| b.limits.connection_policy())
            .unwrap_or_default();
        let _in_flight = balance::InFlight::start(endpoint);
        // 8. forward (send).
        self.sending = Some(endpoint.address);
        let outcome = forward::send_to(
            &self.proxy.client,
            self.outgoing,
            endpoint.address,
            &endpoint.authority,
            policy,
        )
        .await;
        self.sending = None;
        // 9. outlier: every finished attempt counts, the proxy's own 503 for a failed
        //    connection included, except a failure the caller caused (its body broke).
        if let Some(status) = outlier::judged_status(&outcome) {
            self.record(endpoint.address, status);
        }
        outcome
    }

    fn may_retry(&mut self) -> bool {
        // The retry before this one is over: its budget unit goes back first.
        self.retry_slot = None;
        self.budget = None;
        // The DestinationRule's `maxRetries` when it sets one, else the default budget.
        let allowed = match &self.breaker {
            Some(breaker) if breaker.limits.max_retries.is_some() => breaker
                .retry()
                .map(|slot| self.retry_slot = Some(slot))
                .is_some(),
            _ => self
                .service
                .load
                .retry()
                .map(|unit| self.budget = Some(unit))
                .is_some(),
        };
        if !allowed {
            self.proxy.stats.retry_overflow.increment();
        }
        allowed
    }
}
