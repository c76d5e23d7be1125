//! Stage `balance`: which instance of the destination gets this attempt.
//!
//! The candidates are the registry's endpoints of the service whose labels contain the subset's
//! selector (`version: v1`); no selector means every endpoint; none left is 503 `UH`. Among them
//! the DestinationRule's `loadBalancer.simple` decides:
//! - `ROUND_ROBIN` (the default, also for `UNSPECIFIED`/`PASSTHROUGH`): each in turn, through one
//!   atomic counter per service, so no lock on the request path;
//! - `RANDOM`: uniformly at random;
//! - `LEAST_REQUEST` (and its old name `LEAST_CONN`): "power of two choices": two random
//!   candidates, the one with fewer requests in flight wins. Nearly as good as scanning them all,
//!   and it never sends everyone to the same idle instance at once.
//!
//! - `consistentHash` (HRW, "rendezvous" hashing): the request's key (a header, a cookie, or the
//!   caller's IP address) is hashed together with each candidate's address, and the highest
//!   score wins. The same key reaches the same endpoint while the set of endpoints is unchanged;
//!   when one goes, only its keys move. The hash (FNV-1a, then a SplitMix64 finaliser) is fixed
//!   in the code, so every proxy and every run agrees. A request without the key (no such
//!   header; no such cookie, even with a `ttl`: the proxy does not set one) is balanced round
//!   robin.
//!
//! Endpoints that `outlier` detection has ejected are left out first (unless too few would be
//! left, see `minHealthPercent` there); if none remain, 503 `UH`. A retry prefers endpoints not
//! tried yet for this request (as Istio's default does), and only falls back to tried ones when
//! nothing else is left.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use http::HeaderMap;
use mesh_config::model::{ConsistentHashLb, SimpleLb};

use crate::error::ProxyError;
use crate::registry::{Endpoint, Registry, Service};
use crate::stage::outlier;

/// How to pick among candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    RoundRobin,
    Random,
    LeastRequest,
    /// `consistentHash`, with the request's hashed key.
    Hash(u64),
}

impl Strategy {
    /// From the DestinationRule's `loadBalancer`: `consistentHash` when the request has a key
    /// (`hash_key`), else `simple`.
    pub fn from_config(simple: Option<SimpleLb>, hash_key: Option<u64>) -> Strategy {
        if let Some(key) = hash_key {
            return Strategy::Hash(key);
        }
        match simple {
            Some(SimpleLb::Random) => Strategy::Random,
            Some(SimpleLb::LeastRequest | SimpleLb::LeastConn) => Strategy::LeastRequest,
            _ => Strategy::RoundRobin,
        }
    }
}

/// The request's `consistentHash` key, hashed; `None` when there is no such config or the
/// request lacks the key.
pub fn hash_key(
    config: Option<&ConsistentHashLb>,
    headers: &HeaderMap,
    client: Option<SocketAddr>,
) -> Option<u64> {
    let config = config?;
    if let Some(name) = &config.http_header_name {
        return headers.get(name.as_str()).map(|v| fnv1a(v.as_bytes()));
    }
    if let Some(cookie) = &config.http_cookie {
        return headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == cookie.name)
            .map(|(_, value)| fnv1a(value.as_bytes()));
    }
    if config.use_source_ip == Some(true) {
        return client.map(|addr| fnv1a(addr.ip().to_string().as_bytes()));
    }
    None
}

/// FNV-1a over bytes: tiny, fixed, good enough to spread keys.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Rendezvous score of `endpoint` for `key`: FNV-1a of the address, seeded with the key, then
/// SplitMix64's finaliser so that nearby inputs give unrelated scores.
fn score(key: u64, endpoint: SocketAddr) -> u64 {
    let mut hash = key;
    let ip = match endpoint.ip() {
        std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
        std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    for b in ip.iter().chain(&endpoint.port().to_be_bytes()) {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The registry entry for a qualified host; 503 `NC` when the registry does not know it.
pub fn service<'r>(registry: &'r Registry, host: &str) -> Result<&'r Service, ProxyError> {
    registry
        .service(host)
        .ok_or_else(|| ProxyError::NoCluster(host.to_owned()))
}

/// The endpoints of the subset (`selector`), every one when there is none.
pub fn in_subset<'r>(
    service: &'r Service,
    selector: Option<&BTreeMap<String, String>>,
) -> Vec<&'r Endpoint> {
    service
        .endpoints
        .iter()
        .filter(|e| selector.is_none_or(|s| e.has_labels(s)))
        .collect()
}

/// Pick the endpoint for one attempt. `tried` are the addresses of earlier attempts; `outliers`
/// the destination's outlier state, when it has `outlierDetection`.
pub fn pick<'r>(
    service: &'r Service,
    selector: Option<&BTreeMap<String, String>>,
    strategy: Strategy,
    tried: &[SocketAddr],
    outliers: Option<&outlier::Pool>,
) -> Result<&'r Endpoint, ProxyError> {
    let mut in_subset = in_subset(service, selector);
    if let Some(pool) = outliers {
        in_subset = pool.keep_healthy(in_subset);
    }
    let fresh: Vec<&Endpoint> = in_subset
        .iter()
        .copied()
        .filter(|e| !tried.contains(&e.address))
        .collect();
    let candidates = if fresh.is_empty() { in_subset } else { fresh };
    let n = candidates.len();
    if n == 0 {
        return Err(ProxyError::NoHealthyUpstream);
    }
    let index = match strategy {
        Strategy::RoundRobin => service.next.fetch_add(1, Ordering::Relaxed) % n,
        Strategy::Random => fastrand::usize(..n),
        Strategy::LeastRequest => {
            let (a, b) = (fastrand::usize(..n), fastrand::usize(..n));
            let load = |i: usize| candidates[i].active.load(Ordering::Relaxed);
            if load(b) < load(a) { b } else { a }
        }
        Strategy::Hash(key) => (0..n)
            .max_by_key(|&i| score(key, candidates[i].address))
            .unwrap_or(0),
    };
    Ok(candidates[index])
}

/// Counts a request in flight to an endpoint (for `LEAST_REQUEST`) while it is alive.
pub struct InFlight<'r>(&'r Endpoint);

impl<'r> InFlight<'r> {
    pub fn start(endpoint: &'r Endpoint) -> InFlight<'r> {
        endpoint.active.fetch_add(1, Ordering::Relaxed);
        InFlight(endpoint)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(versions: &[&str]) -> Service {
        Service {
            name: "reviews".into(),
            endpoints: versions
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    Endpoint::new(
                        SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)),
                        BTreeMap::from([("version".to_owned(), (*v).to_owned())]),
                    )
                })
                .collect(),
            next: Default::default(),
            qualified: "reviews.default.svc.cluster.local".into(),
            load: Default::default(),
            metric: Default::default(),
        }
    }

    #[test]
    fn round_robin_takes_each_in_turn() {
        let s = service(&["v1", "v2", "v3"]);
        let picked: Vec<u16> = (0..6)
            .map(|_| {
                pick(&s, None, Strategy::RoundRobin, &[], None)
                    .expect("endpoints")
                    .address
                    .port()
            })
            .collect();
        assert_eq!(picked, [9000, 9001, 9002, 9000, 9001, 9002]);
    }

    #[test]
    fn subset_selector_and_tried_endpoints() {
        let s = service(&["v1", "v2", "v1"]);
        let v1 = BTreeMap::from([("version".to_owned(), "v1".to_owned())]);
        let first = pick(&s, Some(&v1), Strategy::Random, &[], None).expect("v1 exists");
        assert_eq!(first.labels["version"], "v1");
        let second =
            pick(&s, Some(&v1), Strategy::Random, &[first.address], None).expect("v1 exists");
        assert_ne!(
            second.address, first.address,
            "a retry avoids the tried one"
        );
        let v9 = BTreeMap::from([("version".to_owned(), "v9".to_owned())]);
        assert!(matches!(
            pick(&s, Some(&v9), Strategy::RoundRobin, &[], None),
            Err(ProxyError::NoHealthyUpstream)
        ));
    }

    #[test]
    fn least_request_avoids_the_busy_endpoint() {
        let s = service(&["v1", "v1"]);
        let _busy = InFlight::start(&s.endpoints[0]);
        // The busy one wins only when both draws land on it (1 in 4): the idle one gets ~150
        // of 200, far above the 100 that plain random would give.
        let idle = (0..200)
            .filter(|_| {
                pick(&s, None, Strategy::LeastRequest, &[], None)
                    .expect("endpoints")
                    .address
                    .port()
                    == 9001
            })
            .count();
        assert!(idle > 110, "idle endpoint picked {idle} times of 200");
    }
}
