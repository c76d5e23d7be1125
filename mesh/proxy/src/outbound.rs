//! The outbound side: requests from the local application to other services.
//!
//! The application reaches it as its `HTTP_PROXY` (absolute form, `GET http://reviews:9080/...`)
//! or directly with a `Host` header. [`handle`] is the whole life of a request, assembled from
//! the stages in this order:
//!
//! | # | stage                 | job                                                          |
//! |---|-----------------------|--------------------------------------------------------------|
//! | 1 | `stage::route`        | pick the rule and destination (pure lookup)                  |
//! | 2 | `stage::fault`        | injected delay, then abort                                   |
//! | 3 | `stage::forward`      | `prepare`: origin form, headers, body buffered for retries  |
//! | 4 | `stage::timeout`      | the route's deadline over everything below                   |
//! | 5 | `stage::retry`        | attempts, per-try timeout, retry conditions                  |
//! | 6 | `stage::balance`      | the endpoint for this attempt                                |
//! | 7 | `stage::forward`      | `send` on a pooled connection, then `respond`                |
//! | 8 | `rescue`              | any error above becomes the caller's response                |
//! | 9 | `stage::access_log`   | one line when the response body ends                         |

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::Proxy;
use crate::body::Body;
use crate::error::ProxyError;
use crate::registry::Service;
use crate::rescue;
use crate::stage::access_log::{Entry, LoggedBody};
use crate::stage::{balance, fault, forward, retry, route, timeout};

/// One request, start to finish. Never fails: errors are answered by `rescue`.
pub async fn handle(proxy: Arc<Proxy>, request: Request<Incoming>) -> Response<LoggedBody> {
    let mut entry = Entry::start(&request);
    let response = match life(&proxy, request, &mut entry).await {
        Ok(response) => response,
        Err(error) => rescue::respond(&error, &mut entry.flags),
    };
    entry.finish(response, proxy.stats.clone())
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
    let route = route::route(
        &routes.table,
        namespace,
        &request,
        &authority,
        fastrand::f64(),
    )?;
    entry.route_name.clone_from(&route.name);

    // 2. fault: before the body is read or an upstream chosen, so an abort never reaches the
    //    upstream, and outside `timeout`, so a delay does not eat the route's deadline.
    fault::inject(route.fault.as_ref(), &mut entry.flags).await?;

    // 3. forward (prepare): a small body is read now, so that retries can send it again.
    let mut outgoing = forward::prepare(request, &authority, &route).await?;
    entry.bytes_in = outgoing.body_len();
    let service = balance::service(registry, &route.host, namespace)?;
    let strategy = balance::Strategy::from_config(route.load_balancer);
    let policy = if outgoing.replayable() {
        retry::Policy::for_route(route.retries.as_ref())
    } else {
        retry::Policy::none()
    };

    // 4. timeout wraps 5. retry: the route's deadline covers all attempts together.
    let mut upstream = Upstream {
        proxy,
        service,
        route: &route,
        strategy,
        outgoing: &mut outgoing,
        tried: Vec::new(),
    };
    let result = timeout::within(
        route.timeout,
        retry::run(
            &policy,
            &mut entry.flags,
            &proxy.stats.retries,
            &mut upstream,
        ),
    )
    .await;
    entry.upstream = upstream.tried.last().copied();
    Ok(forward::respond(result?, &route))
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
}

impl retry::Attempt for Upstream<'_> {
    type Body = Incoming;

    async fn attempt(&mut self) -> Result<Response<Incoming>, ProxyError> {
        // 6. balance: each attempt picks again, preferring endpoints not tried yet.
        let endpoint = balance::pick(
            self.service,
            self.route.selector.as_ref(),
            self.strategy,
            &self.tried,
        )?;
        self.tried.push(endpoint.address);
        let _in_flight = balance::InFlight::start(endpoint);
        // 7. forward (send).
        forward::send(&self.proxy.client, self.outgoing, endpoint.address).await
    }
}
