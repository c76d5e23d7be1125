//! Stage `mirror`: send a copy of the request to another service, for testing a new version
//! with real traffic ("shadowing"), without the caller ever noticing.
//!
//! - The rule's `mirrorPercentage` (100 % when unset) decides per request whether to copy.
//! - Only a request whose body is buffered (empty, or small and of known size, see `forward`)
//!   is copied: a streamed body can be read once, and it belongs to the real request.
//! - The copy's `Host` gets `-shadow` appended to the host name (`reviews:9080` becomes
//!   `reviews-shadow:9080`), as Istio does, so the mirror can tell copies from real traffic.
//! - It is fire and forget: sent from its own task, to an endpoint of the mirror destination
//!   picked round robin; its response is read and thrown away, its failures only logged. It
//!   never delays or fails the real request, and it takes no retries, breaker or outlier state.

use std::sync::Arc;

use http::header::HeaderValue;
use http_body_util::BodyExt;

use crate::registry::Registry;
use crate::stage::balance;
use crate::stage::forward::{Clients, Outgoing};
use crate::stage::route::MirrorTarget;

/// `host[:port]` with `-shadow` after the host name.
pub fn shadow_host(authority: &str) -> String {
    let host = mesh_config::host::strip_port(authority);
    match authority.strip_prefix(host).filter(|rest| !rest.is_empty()) {
        Some(port) => format!("{host}-shadow{port}"),
        None => format!("{authority}-shadow"),
    }
}

/// Roll `target.percent` and, on a hit, start sending a copy of `outgoing`.
pub fn send(
    clients: &Clients,
    registry: &Arc<Registry>,
    target: &MirrorTarget,
    outgoing: &Outgoing,
) {
    if !mesh_config::roll_hits(fastrand::f64(), target.percent) {
        return;
    }
    let Some(host) = outgoing.host().map(shadow_host) else {
        return;
    };
    let Ok(host) = HeaderValue::from_str(&host) else {
        return;
    };
    let Some(mut copy) = outgoing.copy_with_host(host) else {
        tracing::debug!(mirror = %target.host, "not mirrored: the body is streamed");
        return;
    };
    let (clients, registry, target) = (clients.clone(), registry.clone(), target.clone());
    tokio::spawn(async move {
        let Some(service) = registry.service(&target.host) else {
            tracing::debug!(mirror = %target.host, "not mirrored: unknown service");
            return;
        };
        let Ok(endpoint) = balance::pick(
            service,
            target.selector.as_ref(),
            balance::Strategy::RoundRobin,
            &[],
            None,
        ) else {
            return;
        };
        let address = endpoint.address;
        let sent = crate::stage::forward::send_to(
            &clients,
            &mut copy,
            address,
            &endpoint.authority,
            crate::pool::ConnectionPolicy::default(),
        );
        match sent.await {
            // Read to the end so the connection goes back to the pool.
            Ok(response) => drop(response.into_body().collect().await),
            Err(error) => tracing::debug!(mirror = %address, %error, "mirror request failed"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_host_keeps_the_port() {
        assert_eq!(shadow_host("reviews:9080"), "reviews-shadow:9080");
        assert_eq!(shadow_host("reviews"), "reviews-shadow");
        assert_eq!(
            shadow_host("reviews.default.svc.cluster.local:9080"),
            "reviews.default.svc.cluster.local-shadow:9080"
        );
    }
}
