//! Slowing down password guessing: at most [`MAX_FAILURES`] wrong passwords per user name and
//! client address in any [`WINDOW`], after which that pair gets 429 until the oldest failure
//! has aged out of the window.
//!
//! The count is a *sliding window*: the service remembers the time of each recent failure and
//! forgets those older than the window, so there is no reset moment an attacker could wait for.
//! A successful sign-in forgets the pair's failures.
//!
//! What this does not do, on purpose, for a teaching kit:
//! - It lives in memory: a restart forgets it, and two replicas count separately. A shared store
//!   (Redis, the database) would fix both.
//! - The client address is the TCP peer. Behind a proxy (the launcher's VIP, an ingress) every
//!   client has the proxy's address, so the limit becomes per user name, stricter but easy to
//!   trip for everyone; trusting `X-Forwarded-For` would be wrong unless the proxy is known.
//! - Five failures lock the real admin out for up to the window too. That is the usual price of
//!   a per-account limit.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Wrong passwords allowed per user name and client in one window.
pub const MAX_FAILURES: usize = 5;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How many (user, client) pairs are tracked at most, so that guesses from many addresses
/// cannot grow the table without bound.
const MAX_TRACKED: usize = 10_000;

/// Who is trying: the user name as typed, and the client's address when known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub user: String,
    pub client: Option<IpAddr>,
}

/// The failures of each (user, client) pair within the window.
#[derive(Debug, Default)]
pub struct RateLimiter {
    failures: Mutex<HashMap<Attempt, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// `Err(wait)` when `attempt` has used up its failures: it may try again after `wait`.
    pub fn check(&self, attempt: &Attempt, now: Instant) -> Result<(), Duration> {
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(attempt) else {
            return Ok(());
        };
        forget_old(times, now);
        match times.front() {
            Some(&oldest) if times.len() >= MAX_FAILURES => {
                Err((oldest + WINDOW).saturating_duration_since(now))
            }
            _ => Ok(()),
        }
    }

    /// Counts one wrong password for `attempt`.
    pub fn record_failure(&self, attempt: &Attempt, now: Instant) {
        let mut failures = self.lock();
        if !failures.contains_key(attempt) && failures.len() >= MAX_TRACKED {
            failures.retain(|_, times| {
                forget_old(times, now);
                !times.is_empty()
            });
            if failures.len() >= MAX_TRACKED {
                // Still full: make room by dropping the pair whose last failure is oldest.
                let stalest = failures
                    .iter()
                    .min_by_key(|(_, times)| times.back().copied())
                    .map(|(key, _)| key.clone());
                if let Some(key) = stalest {
                    failures.remove(&key);
                }
            }
        }
        let times = failures.entry(attempt.clone()).or_default();
        forget_old(times, now);
        times.push_back(now);
    }

    /// Forgets `attempt`'s failures, after it signed in.
    pub fn forget(&self, attempt: &Attempt) {
        self.lock().remove(attempt);
    }

    /// The table. A panic elsewhere while it was held cannot leave it half-updated in a way
    /// that matters (at worst one failure is not counted), so a poisoned lock is used anyway.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Attempt, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn forget_old(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(user: &str, ip: [u8; 4]) -> Attempt {
        Attempt {
            user: user.into(),
            client: Some(IpAddr::from(ip)),
        }
    }

    #[test]
    fn the_sixth_try_waits_until_the_first_failure_ages_out() {
        let limiter = RateLimiter::default();
        let me = attempt("admin", [10, 0, 0, 1]);
        let start = Instant::now();
        for i in 0..MAX_FAILURES as u64 {
            let now = start + Duration::from_secs(i * 60);
            assert_eq!(limiter.check(&me, now), Ok(()), "try {i}");
            limiter.record_failure(&me, now);
        }
        let now = start + Duration::from_secs(5 * 60);
        assert_eq!(limiter.check(&me, now), Err(Duration::from_secs(10 * 60)));
        // Once the first failure is 15 minutes old, one more try is allowed.
        assert_eq!(limiter.check(&me, start + WINDOW), Ok(()));
    }

    #[test]
    fn pairs_are_counted_apart_and_success_forgets() {
        let limiter = RateLimiter::default();
        let me = attempt("admin", [10, 0, 0, 1]);
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            limiter.record_failure(&me, now);
        }
        assert!(limiter.check(&me, now).is_err());
        assert!(limiter.check(&attempt("admin", [10, 0, 0, 2]), now).is_ok());
        assert!(limiter.check(&attempt("other", [10, 0, 0, 1]), now).is_ok());
        limiter.forget(&me);
        assert!(limiter.check(&me, now).is_ok());
    }

    #[test]
    fn the_table_does_not_grow_without_bound() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            let attempt = Attempt {
                user: format!("u{i}"),
                client: None,
            };
            limiter.record_failure(&attempt, now);
        }
        assert!(limiter.lock().len() <= MAX_TRACKED);
    }
}
