//! Stage `outlier`: the DestinationRule's `outlierDetection`, ejecting endpoints that keep failing.
//!
//! Where a circuit breaker protects a destination from too many requests, outlier detection
//! protects callers from one bad instance: an endpoint that answers errors several times in a
//! row is taken out of load balancing ("ejected") for a while, so the healthy ones take its
//! share, and it is given another chance when the time is up. Passive health checking: the
//! proxy learns from real responses, it sends no probes.
//!
//! After each attempt the proxy records the endpoint's result here ([`Pool::record`]):
//! - `consecutive5xxErrors` (Istio's default 5, `0` turns it off): 5xx statuses in a row, the
//!   upstream's own and the proxy's answers for that endpoint (503 for a refused or broken
//!   connection, 504 for a per-try or route timeout);
//! - `consecutiveGatewayErrors` (default off): 502, 503 and 504 in a row;
//! - any status below 500 resets both streaks; a 500 or 501 resets the gateway streak only;
//! - a failure the caller caused (a malformed or cut-off request body, a caller too slow to
//!   send it: `ProxyError::culprit` is downstream) is no news about the endpoint and is not
//!   recorded at all ([`judged_status`]). Counting it would let any client eject a healthy
//!   service for everyone with a few bad requests.
//!
//! When a streak reaches its threshold, the endpoint is ejected at once for
//! `baseEjectionTime` (default 30 s) × the number of times it has been ejected, at most
//! 300 s (or `baseEjectionTime`, if longer), as Envoy does. Envoy sweeps every `interval` to
//! eject and bring back; here ejection happens on the failing response and the end is a
//! timestamp, so nothing has to run in the background. `interval` (default 10 s) still sets how
//! quickly a forgiven endpoint's multiplier decays: one step per `interval` spent un-ejected.
//!
//! Limits on ejection:
//! - `maxEjectionPercent` (default 10): never more than this share of the destination's
//!   endpoints ejected at once, rounded down, but always at least one may be (Envoy's rule);
//! - `minHealthPercent` (default 0, off): when fewer than this share of the endpoints are
//!   un-ejected, ejections are ignored and every endpoint takes traffic again (a "panic" mode:
//!   sending to a possibly bad endpoint beats sending nowhere).
//!
//! The `balance` stage skips ejected endpoints (through [`Pool::keep_healthy`]); if nothing is
//! left it answers 503 `UH`. State is per destination (host and subset) and per proxy, in
//! atomics; a lock is taken only to add an endpoint seen for the first time and to decide an
//! ejection. A config change that alters the destination's `outlierDetection` starts afresh.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use mesh_config::model::OutlierDetection;

use crate::error::{Culprit, ProxyError};
use crate::registry::Endpoint;
use crate::stage::circuit_breaker::Destination;

/// Envoy's cap on one ejection (`max_ejection_time` default).
const MAX_EJECTION: Duration = Duration::from_secs(300);

/// The detection settings of one destination, with Istio's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `None`: that streak is not watched.
    pub consecutive_5xx: Option<u32>,
    pub consecutive_gateway: Option<u32>,
    pub interval: Duration,
    pub base_ejection: Duration,
    pub max_ejection_percent: u32,
    pub min_health_percent: u32,
}

impl Config {
    pub fn from_config(od: &OutlierDetection) -> Config {
        let positive = |v: Option<u32>| v.filter(|n| *n > 0);
        let duration = |d: Option<mesh_config::Duration>, default: u64| {
            d.map(mesh_config::Duration::get)
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_secs(default))
        };
        Config {
            consecutive_5xx: positive(Some(od.consecutive_5xx_errors.unwrap_or(5))),
            consecutive_gateway: positive(od.consecutive_gateway_errors),
            interval: duration(od.interval, 10),
            base_ejection: duration(od.base_ejection_time, 30),
            max_ejection_percent: od.max_ejection_percent.unwrap_or(10).min(100),
            min_health_percent: od.min_health_percent.unwrap_or(0).min(100),
        }
    }
}

/// One endpoint's record. Times are milliseconds since the pool's `epoch` (0: never).
#[derive(Debug, Default)]
struct Health {
    five_xx: AtomicU32,
    gateway: AtomicU32,
    ejected_until: AtomicU64,
    times_ejected: AtomicU32,
}

/// The outlier state of one destination.
#[derive(Debug)]
pub struct Pool {
    pub config: Config,
    epoch: Instant,
    endpoints: RwLock<HashMap<SocketAddr, Arc<Health>>>,
    /// Serializes ejection decisions, so two at once cannot both pass `maxEjectionPercent`.
    ejecting: Mutex<()>,
}

impl Pool {
    pub fn new(config: Config) -> Pool {
        Pool {
            config,
            epoch: Instant::now(),
            endpoints: RwLock::default(),
            ejecting: Mutex::new(()),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn health(&self, address: SocketAddr) -> Option<Arc<Health>> {
        if let Some(h) = self.endpoints.read().ok()?.get(&address) {
            return Some(h.clone());
        }
        Some(
            self.endpoints
                .write()
                .ok()?
                .entry(address)
                .or_default()
                .clone(),
        )
    }

    /// Is `address` ejected right now?
    pub fn is_ejected(&self, address: SocketAddr) -> bool {
        let now = self.now();
        self.endpoints
            .read()
            .ok()
            .and_then(|map| {
                map.get(&address)
                    .map(|h| h.ejected_until.load(Ordering::Acquire))
            })
            .is_some_and(|until| until > now)
    }

    /// The endpoints currently ejected, sorted.
    pub fn ejected(&self) -> Vec<SocketAddr> {
        let now = self.now();
        let mut out: Vec<SocketAddr> = self
            .endpoints
            .read()
            .map(|map| {
                map.iter()
                    .filter(|(_, h)| h.ejected_until.load(Ordering::Acquire) > now)
                    .map(|(a, _)| *a)
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The candidates that may take traffic: the un-ejected ones, or all of them when fewer
    /// than `minHealthPercent` are un-ejected.
    pub fn keep_healthy<'r>(&self, candidates: Vec<&'r Endpoint>) -> Vec<&'r Endpoint> {
        let total = candidates.len();
        let healthy: Vec<&Endpoint> = candidates
            .iter()
            .copied()
            .filter(|e| !self.is_ejected(e.address))
            .collect();
        let min = u64::from(self.config.min_health_percent);
        if healthy.len() < total && (healthy.len() as u64) * 100 < min * total as u64 {
            candidates
        } else {
            healthy
        }
    }

    /// Record the status an attempt at `address` ended with (the proxy's own 503/504 for a
    /// connection failure or timeout). `endpoints` counts the destination's endpoints, for
    /// `maxEjectionPercent` (only called when an ejection is considered). True when this result
    /// ejected the endpoint.
    pub fn record(
        &self,
        address: SocketAddr,
        status: u16,
        endpoints: impl FnOnce() -> usize,
    ) -> bool {
        let Some(health) = self.health(address) else {
            return false;
        };
        if status < 500 {
            health.five_xx.store(0, Ordering::Relaxed);
            health.gateway.store(0, Ordering::Relaxed);
            return false;
        }
        let five_xx = health.five_xx.fetch_add(1, Ordering::Relaxed) + 1;
        let gateway = if (502..=504).contains(&status) {
            health.gateway.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            health.gateway.store(0, Ordering::Relaxed);
            0
        };
        let reached = |streak: u32, threshold: Option<u32>| threshold.is_some_and(|t| streak >= t);
        if reached(five_xx, self.config.consecutive_5xx)
            || reached(gateway, self.config.consecutive_gateway)
        {
            return self.eject(&health, endpoints());
        }
        false
    }

    fn eject(&self, health: &Health, endpoints: usize) -> bool {
        let Ok(_deciding) = self.ejecting.lock() else {
            return false;
        };
        let now = self.now();
        let until = health.ejected_until.load(Ordering::Acquire);
        if until > now {
            return false; // already out (answers of requests sent before the ejection)
        }
        let allowed = (endpoints * self.config.max_ejection_percent as usize / 100).max(1);
        if self.ejected().len() >= allowed {
            return false;
        }
        // The multiplier decays by one for every `interval` since the last ejection ended.
        let interval = u64::try_from(self.config.interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let forgiven = if until == 0 {
            0
        } else {
            u32::try_from((now - until) / interval).unwrap_or(u32::MAX)
        };
        let times = health
            .times_ejected
            .load(Ordering::Relaxed)
            .saturating_sub(forgiven)
            + 1;
        health.times_ejected.store(times, Ordering::Relaxed);
        let length = self
            .config
            .base_ejection
            .saturating_mul(times)
            .min(MAX_EJECTION.max(self.config.base_ejection));
        let length = u64::try_from(length.as_millis()).unwrap_or(u64::MAX);
        // `max(1)`: the epoch is 0 ms, and 0 means "never ejected".
        health
            .ejected_until
            .store(now.saturating_add(length).max(1), Ordering::Release);
        health.five_xx.store(0, Ordering::Relaxed);
        health.gateway.store(0, Ordering::Relaxed);
        true
    }
}

/// The status an attempt's endpoint is judged by: the upstream's answer, or the proxy's own
/// status for a failure of the endpoint (503 for a broken connection, ...). `None` when the
/// caller caused the failure: the endpoint is not to blame, and its streaks stay as they were.
pub fn judged_status<B>(outcome: &Result<http::Response<B>, ProxyError>) -> Option<u16> {
    match outcome {
        Ok(response) => Some(response.status().as_u16()),
        Err(error) if error.culprit() == Culprit::Downstream => None,
        Err(error) => Some(error.status().as_u16()),
    }
}

/// Every destination's pool, created on first use.
#[derive(Debug, Default)]
pub struct Detectors {
    map: RwLock<HashMap<Destination, Arc<Pool>>>,
}

impl Detectors {
    /// The pool of `destination` with `config`; a fresh one if the config changed.
    pub fn get(&self, destination: &Destination, config: Config) -> Arc<Pool> {
        if let Ok(map) = self.map.read()
            && let Some(pool) = map.get(destination)
            && pool.config == config
        {
            return pool.clone();
        }
        let Ok(mut map) = self.map.write() else {
            return Arc::new(Pool::new(config));
        };
        let entry = map
            .entry(destination.clone())
            .or_insert_with(|| Arc::new(Pool::new(config)));
        if entry.config != config {
            *entry = Arc::new(Pool::new(config));
        }
        entry.clone()
    }

    /// Every destination with its ejected endpoints, sorted by destination.
    pub fn ejected(&self) -> Vec<(Destination, Vec<SocketAddr>)> {
        let mut all: Vec<_> = self
            .map
            .read()
            .map(|map| map.iter().map(|(d, p)| (d.clone(), p.ejected())).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(consecutive: u32, max_percent: u32) -> Config {
        Config::from_config(&OutlierDetection {
            consecutive_5xx_errors: Some(consecutive),
            base_ejection_time: Some(mesh_config::Duration(Duration::from_secs(60))),
            max_ejection_percent: Some(max_percent),
            ..OutlierDetection::default()
        })
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn the_callers_failures_are_not_the_endpoints() {
        let ok = || Ok::<_, ProxyError>(http::Response::new(()));
        assert_eq!(judged_status(&ok()), Some(200));
        assert_eq!(
            judged_status::<()>(&Err(ProxyError::UpstreamReset)),
            Some(503)
        );
        assert_eq!(judged_status::<()>(&Err(ProxyError::Timeout)), Some(504));
        for error in [
            ProxyError::DownstreamBody,
            ProxyError::DownstreamDisconnect,
            ProxyError::DownstreamTimeout,
        ] {
            assert_eq!(judged_status::<()>(&Err(error)), None);
        }
    }

    #[test]
    fn a_streak_ejects_and_a_success_resets_it() {
        let pool = Pool::new(config(2, 100));
        assert!(!pool.record(addr(1), 503, || 2));
        assert!(
            !pool.record(addr(1), 200, || 2),
            "a success breaks the streak"
        );
        assert!(!pool.record(addr(1), 500, || 2));
        assert!(pool.record(addr(1), 502, || 2));
        assert!(pool.is_ejected(addr(1)));
        assert_eq!(pool.ejected(), [addr(1)]);
        assert!(!pool.is_ejected(addr(2)));
    }

    #[test]
    fn gateway_errors_only_count_502_to_504() {
        let pool = Pool::new(Config::from_config(&OutlierDetection {
            consecutive_5xx_errors: Some(0),
            consecutive_gateway_errors: Some(2),
            max_ejection_percent: Some(100),
            ..OutlierDetection::default()
        }));
        assert!(!pool.record(addr(1), 503, || 1));
        assert!(
            !pool.record(addr(1), 500, || 1),
            "500 resets the gateway streak"
        );
        assert!(!pool.record(addr(1), 504, || 1));
        assert!(pool.record(addr(1), 503, || 1));
    }

    #[test]
    fn max_ejection_percent_is_respected_but_one_may_always_go() {
        let pool = Pool::new(config(1, 50));
        assert!(pool.record(addr(1), 503, || 2));
        assert!(!pool.record(addr(2), 503, || 2), "50% of 2 is one");
        let pool = Pool::new(config(1, 10));
        assert!(
            pool.record(addr(1), 503, || 3),
            "at least one, even under 10%"
        );
        assert!(!pool.record(addr(2), 503, || 3));
    }

    #[test]
    fn min_health_percent_ignores_ejections_when_too_few_are_left() {
        let endpoints: Vec<Endpoint> = (1..=2)
            .map(|p| Endpoint::new(addr(p), Default::default()))
            .collect();
        let refs: Vec<&Endpoint> = endpoints.iter().collect();
        let mut c = config(1, 100);
        let pool = Pool::new(c);
        pool.record(addr(1), 503, || 2);
        assert_eq!(pool.keep_healthy(refs.clone()).len(), 1);
        c.min_health_percent = 60;
        let pool = Pool::new(c);
        pool.record(addr(1), 503, || 2);
        assert_eq!(
            pool.keep_healthy(refs).len(),
            2,
            "50% healthy < 60%: use all"
        );
    }
}
