//! Stage `circuit_breaker`: the DestinationRule's `connectionPool` limits, per destination.
//!
//! A circuit breaker stops one slow service from tying up every caller: when too many requests
//! are already on their way to a destination, the next one is refused at once (503, flag `UO`,
//! "overflow") instead of queueing forever. Like Envoy, the limits are counted *per proxy* and
//! per destination, that is a host and a subset (`reviews` subset `v1`): ten sidecars with
//! `maxConnections: 1` may still send ten requests at once to the same service.
//!
//! | field                             | here                                                  |
//! |-----------------------------------|-------------------------------------------------------|
//! | `tcp.maxConnections`              | connections in use at once. HTTP/1.1 carries one request at a time on a connection, so this caps requests in flight |
//! | `http.http1MaxPendingRequests`    | requests allowed to *wait* for a connection when all are in use; one more is 503 `UO` |
//! | `http.http2MaxRequests`           | requests in flight at once, never waiting; one more is 503 `UO` |
//! | `http.maxRequestsPerConnection`   | requests one upstream connection carries; counted by the pools (`crate::pool`) |
//! | `http.maxRetries`                 | retries in progress at once; a retry over the limit is not made |
//! | `tcp.connectTimeout`              | how long connecting may take (default 10 s), then 503 `UF`; used by the pools |
//!
//! Each limit is a tokio [`Semaphore`] (or an atomic counter, for the waiting room and the
//! retries). Permits are taken for one attempt and held until its response body has been sent,
//! since the connection stays busy until then. An overflow is never retried: retrying into a
//! full pool would only add to the load the limit is there to shed.
//!
//! A missing field means no limit (Istio's default is 2^32-1). `maxConnections`,
//! `http2MaxRequests` and `maxRequestsPerConnection` of `0` also mean no limit, as in Istio;
//! `http1MaxPendingRequests: 0` (no waiting at all) and `maxRetries: 0` (no retries) are taken
//! literally, since both are useful settings.
//!
//! The breakers live in a map keyed by destination, created on first use. A breaker remembers
//! the limits it was built with; when a config reload changes them, the next request builds a
//! fresh one (requests already holding permits of the old one finish on the old one).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use mesh_config::model::ConnectionPoolSettings;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::body::{Body, BodyEnd, OnEnd, WatchedBody};
use crate::error::ProxyError;
use crate::pool::{CONNECT_TIMEOUT, ConnectionPolicy};

/// A destination: the qualified host and the subset (`None`: every instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    pub host: String,
    pub subset: Option<String>,
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.subset {
            Some(subset) => write!(f, "{}|{subset}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// The limits of one destination, `None` meaning unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub max_connections: Option<u32>,
    pub max_pending: Option<u32>,
    pub max_requests: Option<u32>,
    pub max_requests_per_connection: Option<u32>,
    pub max_retries: Option<u32>,
    /// `tcp.connectTimeout`: not a limit on counts but part of the same `connectionPool`, passed
    /// on to the pools (see [`Limits::connection_policy`]).
    pub connect_timeout: Option<std::time::Duration>,
}

impl Limits {
    /// From the resolved `connectionPool` (see the module doc for what `0` means).
    pub fn from_config(pool: &ConnectionPoolSettings) -> Limits {
        let positive = |v: Option<u32>| v.filter(|n| *n > 0);
        let http = pool.http.as_ref();
        Limits {
            max_connections: positive(pool.tcp.as_ref().and_then(|t| t.max_connections)),
            max_pending: http.and_then(|h| h.http1_max_pending_requests),
            max_requests: positive(http.and_then(|h| h.http2_max_requests)),
            max_requests_per_connection: positive(http.and_then(|h| h.max_requests_per_connection)),
            max_retries: http.and_then(|h| h.max_retries),
            connect_timeout: pool
                .tcp
                .as_ref()
                .and_then(|t| t.connect_timeout)
                .map(|d| d.get())
                .filter(|d| !d.is_zero()),
        }
    }

    /// What the pools need to know: requests per connection, and the connect timeout.
    pub fn connection_policy(&self) -> ConnectionPolicy {
        ConnectionPolicy {
            max_requests: self.max_requests_per_connection,
            connect_timeout: self.connect_timeout.unwrap_or(CONNECT_TIMEOUT),
        }
    }

    /// True when no field limits anything: no breaker is needed.
    pub fn unlimited(&self) -> bool {
        *self == Limits::default()
    }
}

/// The live counters of one destination.
#[derive(Debug)]
pub struct Breaker {
    pub limits: Limits,
    connections: Option<Arc<Semaphore>>,
    requests: Option<Arc<Semaphore>>,
    pending: Arc<AtomicU32>,
    retries: Arc<AtomicU32>,
}

/// What one attempt holds while it is in flight; dropping it gives the capacity back.
#[derive(Debug)]
pub struct Permit {
    _connection: Option<OwnedSemaphorePermit>,
    _request: Option<OwnedSemaphorePermit>,
}

/// Holds one unit of a counter (a waiting request, a retry) and gives it back when dropped, even
/// if the future holding it is cancelled by a timeout.
#[derive(Debug)]
pub struct Slot(Arc<AtomicU32>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Take one unit of `counter` if it stays within `limit`.
fn take(counter: &Arc<AtomicU32>, limit: Option<u32>) -> Option<Slot> {
    let limit = limit.unwrap_or(u32::MAX);
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .ok()
        .map(|_| Slot(counter.clone()))
}

impl Breaker {
    pub fn new(limits: Limits) -> Breaker {
        let semaphore = |n: Option<u32>| n.map(|n| Arc::new(Semaphore::new(n as usize)));
        Breaker {
            limits,
            connections: semaphore(limits.max_connections),
            requests: semaphore(limits.max_requests),
            pending: Arc::default(),
            retries: Arc::default(),
        }
    }

    /// Admission for one attempt: a request slot, then a connection, waiting for one only if the
    /// waiting room has space. Err is 503 `UO`.
    pub async fn admit(&self) -> Result<Permit, ProxyError> {
        let request = match &self.requests {
            None => None,
            Some(s) => Some(
                s.clone()
                    .try_acquire_owned()
                    .map_err(|_| ProxyError::Overflow)?,
            ),
        };
        let connection = match &self.connections {
            None => None,
            Some(s) => match s.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    // Every connection is busy: wait in the waiting room, if there is space.
                    let _waiting =
                        take(&self.pending, self.limits.max_pending).ok_or(ProxyError::Overflow)?;
                    Some(
                        s.clone()
                            .acquire_owned()
                            .await
                            .map_err(|_| ProxyError::Overflow)?,
                    )
                }
            },
        };
        Ok(Permit {
            _connection: connection,
            _request: request,
        })
    }

    /// May one more retry start? The slot is held until the retry is over.
    pub fn retry(&self) -> Option<Slot> {
        take(&self.retries, self.limits.max_retries)
    }

    /// Current use, for `/config_dump`: (connections in use, waiting, retries in progress).
    pub fn usage(&self) -> (u32, u32, u32) {
        let in_use = |s: &Option<Arc<Semaphore>>, limit: Option<u32>| match (s, limit) {
            (Some(s), Some(limit)) => limit.saturating_sub(s.available_permits() as u32),
            _ => 0,
        };
        (
            in_use(&self.connections, self.limits.max_connections),
            self.pending.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed),
        )
    }
}

/// Every destination's breaker, created on first use.
#[derive(Debug, Default)]
pub struct Breakers {
    map: RwLock<HashMap<Destination, Arc<Breaker>>>,
}

impl Breakers {
    /// The breaker of `destination` with `limits`; a new one if the limits changed. The common
    /// case is a read lock held for one hash lookup.
    pub fn get(&self, destination: &Destination, limits: Limits) -> Arc<Breaker> {
        if let Ok(map) = self.map.read()
            && let Some(breaker) = map.get(destination)
            && breaker.limits == limits
        {
            return breaker.clone();
        }
        let Ok(mut map) = self.map.write() else {
            // A panic while holding the lock cannot leave the map half-written (inserts are
            // atomic), but be safe: a fresh breaker still enforces the limits for this request.
            return Arc::new(Breaker::new(limits));
        };
        let entry = map
            .entry(destination.clone())
            .or_insert_with(|| Arc::new(Breaker::new(limits)));
        if entry.limits != limits {
            *entry = Arc::new(Breaker::new(limits));
        }
        entry.clone()
    }

    /// Every breaker, sorted by destination, for `/config_dump`.
    pub fn all(&self) -> Vec<(Destination, Arc<Breaker>)> {
        let mut all: Vec<_> = self
            .map
            .read()
            .map(|map| map.iter().map(|(d, b)| (d.clone(), b.clone())).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// The attempt's [`Permit`] is kept until the response body ends (a [`WatchedBody`] around
/// it), because the upstream connection is busy until then; it is given back when dropped.
impl OnEnd for Permit {
    fn on_end(self, _end: BodyEnd, _bytes: u64) {}
}

/// `inner`, keeping `permit` until it ends.
pub fn hold(inner: Body, permit: Permit) -> Body {
    use http_body_util::BodyExt;
    WatchedBody::new(inner, permit).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesh_config::model::{HttpSettings, TcpSettings};

    fn limits(connections: u32, pending: u32) -> Limits {
        Limits::from_config(&ConnectionPoolSettings {
            tcp: Some(TcpSettings {
                max_connections: Some(connections),
                ..TcpSettings::default()
            }),
            http: Some(HttpSettings {
                http1_max_pending_requests: Some(pending),
                max_retries: Some(1),
                max_requests_per_connection: Some(2),
                ..HttpSettings::default()
            }),
        })
    }

    #[tokio::test]
    async fn one_connection_one_waiting_then_overflow() {
        let breaker = Arc::new(Breaker::new(limits(1, 1)));
        let first = breaker.admit().await.expect("a free connection");
        let waiter = tokio::spawn({
            let breaker = breaker.clone();
            async move { breaker.admit().await.map(drop) }
        });
        // Let the second request reach the waiting room.
        while breaker.usage().1 == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(breaker.admit().await, Err(ProxyError::Overflow)));
        drop(first);
        waiter
            .await
            .expect("task")
            .expect("the waiting request gets the connection");
        assert_eq!(breaker.usage(), (0, 0, 0));
    }

    #[test]
    fn retries_in_progress_are_limited() {
        let breaker = Breaker::new(limits(1, 0));
        let retry = breaker.retry().expect("one retry allowed");
        assert!(
            breaker.retry().is_none(),
            "a second concurrent retry is not"
        );
        drop(retry);
        assert!(breaker.retry().is_some());
    }

    #[test]
    fn zero_means_unlimited_except_pending_and_retries() {
        let l = limits(0, 0);
        assert_eq!(l.max_connections, None);
        assert_eq!(l.max_pending, Some(0));
        assert!(Limits::from_config(&ConnectionPoolSettings::default()).unlimited());
    }

    #[test]
    fn changed_limits_build_a_new_breaker() {
        let breakers = Breakers::default();
        let d = Destination {
            host: "httpbin.default.svc.cluster.local".into(),
            subset: None,
        };
        let a = breakers.get(&d, limits(1, 1));
        assert!(Arc::ptr_eq(&a, &breakers.get(&d, limits(1, 1))));
        let b = breakers.get(&d, limits(2, 1));
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(b.limits.max_connections, Some(2));
    }
}
