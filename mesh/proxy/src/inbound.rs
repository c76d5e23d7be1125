//! The inbound side: requests from other services to the local application.
//!
//! Other sidecars (or anyone) reach the application through this listener (`--inbound`); it
//! forwards each request to the application on the same pooled keep-alive connections as the
//! outbound side, in the protocol the request came in. The application's address is `--app`, or
//! the one its `--app-addr-file` holds (the watcher follows that file: an application restarted
//! on another port is followed within a poll); it sits in the snapshot, so each request reads
//! it without a lock. There is no routing here: the caller's sidecar
//! already applied the VirtualService; this side only observes and reports. [`handle`] is the
//! whole life of an inbound request:
//!
//! | # | stage                 | job                                                          |
//! |---|-----------------------|--------------------------------------------------------------|
//! | 0 | `state`               | the application's address; none known yet: 503 `UH`          |
//! |0b | `peer`                | the caller's signed name checked, and its header removed     |
//! |0c | `trace`               | server span, trace context and `x-request-id` in the headers |
//! | 1 | `stage::forward`      | `prepare`: origin form, hop-by-hop headers dropped           |
//! | 2 | `stage::forward`      | `send` to the application (no retries: the caller's sidecar decides those) |
//! | 3 | `rescue`              | the application is down: 503 `UF`, "who failed: upstream"; the caller's body broke: 400 `DPE` or `DC`, "who failed: downstream" |
//! | 4 | `stage::access_log`   | one line, with the route name below                          |
//!
//! The access log's route name is `inbound|<app port>`, Istio's name for the inbound cluster:
//! it tells inbound lines from outbound ones (`inbound|-` while the address is unknown).
//! Istio's metrics are reported here with `reporter="destination"`: this workload is the
//! destination, and the source is the caller named by `x-sailkit-peer`, else `unknown`.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::Proxy;
use crate::body::Body;
use crate::error::ProxyError;
use crate::metrics::Reporter;
use crate::stage::access_log::{Entry, InFlight, LoggedBody};
use crate::stage::{forward, route};
use crate::{peer, rescue};

/// One inbound request, start to finish. Never fails: errors are answered by `rescue`.
pub async fn handle(proxy: Arc<Proxy>, mut request: Request<Incoming>) -> Response<LoggedBody> {
    let mut in_flight = InFlight::start(&request, proxy.clone());
    let entry = in_flight.entry();
    // 0. accept is the listener's (`server`).
    // 1. where: the application's address right now, one lock-free load of a `Copy` address.
    let state = proxy.state.load();
    let app = state.app;
    // 0b. who calls: believed only from a right signature; the header never reaches the app.
    entry.call.reporter = Reporter::Destination;
    entry.call.service = proxy.metrics.own_service();
    entry.call.peer = peer::take(request.headers_mut(), state.peers.as_deref());
    drop(state);
    entry.route_name = match app {
        Some(app) => format!("inbound|{}", app.port()),
        None => "inbound|-".to_owned(),
    };
    // A server span, child of the caller's; the application gets this hop's context (`trace`).
    entry.trace = proxy.tracing.inbound(&mut request, app);
    let result = match app {
        Some(app) => life(&proxy, app, request, entry).await,
        None => Err(ProxyError::AppUnknown),
    };
    let response = match result {
        Ok(response) => response,
        // 4. rescue.
        Err(error) => rescue::respond(&error, &proxy, in_flight.entry()),
    };
    // 5. access log, when the response body ends.
    in_flight.finish(response)
}

async fn life(
    proxy: &Proxy,
    app: SocketAddr,
    request: Request<Incoming>,
    entry: &mut Entry,
) -> Result<Response<Body>, ProxyError> {
    // The application sees the Host the caller used; without one, its own address.
    let authority = route::authority(&request).unwrap_or_else(|_| app.to_string());
    let route = route::Route::direct(entry.route_name.clone(), authority.clone());
    // 2. prepare, 3. send. A failure of the caller's body comes back as the caller's
    //    (`forward` tells it apart), never as the application being down.
    let mut outgoing = forward::prepare(request, &authority, &route).await?;
    entry.bytes_in = outgoing.body_len();
    entry.upstream = Some(app);
    let response = forward::send(&proxy.client, &mut outgoing, app).await?;
    Ok(forward::respond(response, &route))
}
