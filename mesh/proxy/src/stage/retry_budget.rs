//! Stage `retry_budget`: the default limit on retries, so that retries cannot multiply an outage.
//!
//! Every route retries by default (Istio's two retries on a connect failure or a 503). When a
//! service goes down for everyone, each request would then cost it three attempts instead of
//! one, just when it can least take them. A **budget** caps the retries in progress towards a
//! service at a share of the requests in progress towards it: [`BUDGET_PERCENT`] of them, and
//! never fewer than [`MIN_RETRIES`] at once, so that a quiet service can still retry. These are
//! the defaults of Envoy's `retry_budget`. A retry over the budget is not made: the attempt's
//! own answer goes back, and `/stats` counts a retry overflow.
//!
//! The counts live on the service's registry entry ([`Load`]), so the common path takes no lock
//! and no map lookup: one atomic add when a request starts, one when it ends. A DestinationRule
//! with `connectionPool.http.maxRetries` sets a fixed limit instead (see `circuit_breaker`).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Retries in progress may be at most this share of the requests in progress, in percent.
pub const BUDGET_PERCENT: usize = 20;
/// ... but this many retries at once are always allowed.
pub const MIN_RETRIES: usize = 3;

/// Requests and retries in progress towards one service.
#[derive(Debug, Default)]
pub struct Load {
    requests: AtomicUsize,
    retries: AtomicUsize,
}

/// A request in progress; dropping it ends it.
#[derive(Debug)]
pub struct Request<'a>(&'a Load);

/// A retry in progress; dropping it ends it.
#[derive(Debug)]
pub struct Retry<'a>(&'a Load);

impl Load {
    /// A request towards the service starts.
    pub fn start(&self) -> Request<'_> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        Request(self)
    }

    /// How many retries may be in progress at once with `requests` requests in progress.
    pub fn allowed(requests: usize) -> usize {
        (requests * BUDGET_PERCENT / 100).max(MIN_RETRIES)
    }

    /// May a retry start now? `None` when the budget is spent.
    pub fn retry(&self) -> Option<Retry<'_>> {
        let allowed = Self::allowed(self.requests.load(Ordering::Relaxed));
        self.retries
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                (now < allowed).then_some(now + 1)
            })
            .ok()
            .map(|_| Retry(self))
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Retry<'_> {
    fn drop(&mut self) {
        self.0.retries.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifth_of_the_requests_and_at_least_three() {
        assert_eq!(Load::allowed(0), 3);
        assert_eq!(Load::allowed(10), 3);
        assert_eq!(Load::allowed(20), 4);
        assert_eq!(Load::allowed(100), 20);
    }

    #[test]
    fn retries_over_the_budget_are_refused_until_one_ends() {
        let load = Load::default();
        let requests: Vec<_> = (0..20).map(|_| load.start()).collect();
        let retries: Vec<_> = (0..4).map(|_| load.retry().expect("within")).collect();
        assert!(load.retry().is_none(), "4 of 20 is the budget");
        drop(retries);
        assert!(load.retry().is_some());
        drop(requests);
        assert_eq!(load.requests.load(Ordering::Relaxed), 0);
    }
}
