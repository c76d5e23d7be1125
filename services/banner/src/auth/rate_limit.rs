//! Slowing down password guessing, in memory that stays bounded whatever an attacker sends.
//!
//! Two limits, both over a *sliding window* of [`WINDOW`] (the service remembers when each
//! recent attempt happened and forgets those older than the window, so there is no reset moment
//! an attacker could wait for):
//! - at most [`MAX_FAILURES`] wrong passwords per user name and client;
//! - at most [`MAX_FAILURES_PER_CLIENT`] wrong passwords per client, whatever the names, so that
//!   one address cannot fill the table with made-up names (see "full" below).
//!
//! A "client" is the TCP peer's address; for IPv6, its /64 network, since one host usually
//! holds a whole /64 and could otherwise pick a fresh address for every guess.
//!
//! **Counted first, forgiven on success.** [`RateLimiter::begin`] counts an attempt as a
//! failure *before* the password is checked, in the same step that looks at the count, and
//! [`RateLimiter::succeeded`] takes it back. Two guesses sent at once therefore cannot both slip
//! in under the limit, as they could if the count were only raised after the slow check. (The
//! caller lets only a couple of checks run at once, so the right password sent in many requests
//! at once is never held up by its own attempts in flight.)
//!
//! **Bounded memory.** The table is keyed by a fixed-size digest of the user name (16 bytes of
//! its SHA-256), never by the name itself, so a 200 KB name costs what a 5-byte one does; each
//! entry holds at most its limit of times; and the table holds at most `capacity` entries, its
//! map reserved once at start so that it never grows: see [`RateLimiter::footprint`].
//!
//! **When the table is full**, entries whose attempts have all aged out are dropped first. If it
//! is still full, the *newcomer* is refused (429), never an entry dropped to make room: dropping
//! the oldest entry would forgive a locked account, which is exactly what an attacker filling
//! the table wants. The per-client limit is what keeps one address from filling it alone.
//!
//! Why hand-written and not a crate such as `governor`: governor limits the *rate of calls*
//! (a token bucket per key), while this counts *wrong passwords* in a window and forgets them
//! on success, and it must refuse a newcomer rather than grow or forget when full, which a
//! keyed governor limiter does not do by itself. The whole mechanism fits in this file, which
//! is also what a learner should be able to read.
//!
//! What this does not do, on purpose, for a teaching kit:
//! - It lives in memory: a restart forgets it, and two replicas count separately. A shared store
//!   (Redis, the database) would fix both.
//! - Behind a proxy (the launcher's VIP, an ingress) every client has the proxy's address, so
//!   the limits become per user name and global, stricter but easy to trip for everyone;
//!   trusting `X-Forwarded-For` would be wrong unless the proxy is known.
//! - Five failures lock the real admin out for up to the window too, and a full table keeps
//!   newcomers out until entries age out. That is the usual price of a limit that cannot be
//!   talked out of its memory.

use std::collections::{HashMap, VecDeque};
use std::mem::size_of;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Wrong passwords allowed per user name and client in one window.
pub const MAX_FAILURES: usize = 5;
/// Wrong passwords allowed per client in one window, all user names together.
pub const MAX_FAILURES_PER_CLIENT: usize = 50;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How many entries the service's table holds at most.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The first bytes of the SHA-256 of a user name: what the table keeps instead of the name.
/// 128 bits make two names sharing a digest a matter of 2^64 tries, and even then they would
/// only share a count.
type NameDigest = [u8; 16];

/// Who is trying: the user name (as its digest) and the client, when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attempt {
    user: NameDigest,
    client: Option<IpAddr>,
}

impl Attempt {
    /// The attempt of `user` from `client`. Hashes the name: refuse absurdly long names before.
    pub fn new(user: &str, client: Option<IpAddr>) -> Self {
        let digest = Sha256::digest(user.as_bytes());
        let mut short = NameDigest::default();
        short.copy_from_slice(&digest[..size_of::<NameDigest>()]);
        Self {
            user: short,
            client: client.map(client_network),
        }
    }
}

/// The address a client is counted under: itself for IPv4, its /64 network for IPv6.
fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !(u128::MAX >> 64);
            IpAddr::from(std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// What the table counts under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// One user name from one client (or from unknown clients).
    Pair(Attempt),
    /// One client, all user names together.
    Client(IpAddr),
}

impl Key {
    fn limit(self) -> usize {
        match self {
            Key::Pair(_) => MAX_FAILURES,
            Key::Client(_) => MAX_FAILURES_PER_CLIENT,
        }
    }

    /// The keys an attempt counts under: its pair, and its client when known.
    fn of(attempt: &Attempt) -> impl Iterator<Item = Key> {
        std::iter::once(Key::Pair(*attempt)).chain(attempt.client.map(Key::Client))
    }
}

/// Why an attempt may not go ahead; both are answered 429 with `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The pair or the client has used up its failures.
    Locked { retry_after: Duration },
    /// The table is full of live entries and this attempt would need a new one.
    Full { retry_after: Duration },
}

impl Refusal {
    pub fn retry_after(self) -> Duration {
        match self {
            Refusal::Locked { retry_after } | Refusal::Full { retry_after } => retry_after,
        }
    }
}

/// How much the table holds: its entries, and the bytes they and the map use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    pub entries: usize,
    pub bytes: usize,
}

/// The recent attempts of each key, oldest first.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: usize,
    table: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl RateLimiter {
    /// A limiter whose table holds at most `capacity` entries (at least 2: one attempt needs up
    /// to two, its pair and its client).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self {
            capacity,
            table: Mutex::new(HashMap::with_capacity(capacity)),
        }
    }

    /// Counts `attempt` as a failure unless it is refused; call [`Self::succeeded`] if the
    /// password turns out right.
    pub fn begin(&self, attempt: &Attempt, now: Instant) -> Result<(), Refusal> {
        let mut table = self.lock();
        let mut locked_for = None;
        let mut missing = 0;
        for key in Key::of(attempt) {
            match table.get_mut(&key) {
                Some(times) => {
                    forget_old(times, now);
                    if let Some(&oldest) = times.front().filter(|_| times.len() >= key.limit()) {
                        let wait = (oldest + WINDOW).saturating_duration_since(now);
                        locked_for = locked_for.max(Some(wait));
                    }
                }
                None => missing += 1,
            }
        }
        if let Some(retry_after) = locked_for {
            return Err(Refusal::Locked { retry_after });
        }
        if table.len() + missing > self.capacity {
            let next_expiry = forget_expired(&mut table, now);
            if table.len() + missing > self.capacity {
                let retry_after = next_expiry.unwrap_or(WINDOW);
                return Err(Refusal::Full { retry_after });
            }
        }
        for key in Key::of(attempt) {
            let times = table
                .entry(key)
                .or_insert_with(|| VecDeque::with_capacity(key.limit()));
            times.push_back(now);
        }
        Ok(())
    }

    /// Takes back the failure [`Self::begin`] counted: the password was right. The pair's other
    /// failures are forgiven too; the client's stay, as they may be other names' guesses.
    pub fn succeeded(&self, attempt: &Attempt) {
        let mut table = self.lock();
        table.remove(&Key::Pair(*attempt));
        if let Some(client) = attempt.client {
            let key = Key::Client(client);
            if let Some(times) = table.get_mut(&key) {
                times.pop_back();
                if times.is_empty() {
                    table.remove(&key);
                }
            }
        }
    }

    /// The entries and the bytes of the table: the map's reserved slots, which never grow
    /// (it is never asked to hold more than it reserved at start), and each entry's times.
    pub fn footprint(&self) -> Footprint {
        let table = self.lock();
        let slot = size_of::<(Key, VecDeque<Instant>)>();
        let times: usize = table
            .values()
            .map(|times| times.capacity() * size_of::<Instant>())
            .sum();
        Footprint {
            entries: table.len(),
            bytes: table.capacity() * slot + times,
        }
    }

    /// The most [`Self::footprint`] can report: every slot reserved, every entry as large as
    /// the largest limit allows. About 9 MB for the default capacity.
    pub fn max_bytes(&self) -> usize {
        let slot = size_of::<(Key, VecDeque<Instant>)>();
        self.lock().capacity() * slot
            + self.capacity * MAX_FAILURES_PER_CLIENT * size_of::<Instant>()
    }

    /// The table. A panic elsewhere while it was held cannot leave it half-updated in a way
    /// that matters (at worst one attempt is not counted), so a poisoned lock is used anyway.
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, VecDeque<Instant>>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Drops the entries whose attempts have all aged out. Returns how long until the next of the
/// remaining entries does, which is when a full table will have room again.
fn forget_expired(table: &mut HashMap<Key, VecDeque<Instant>>, now: Instant) -> Option<Duration> {
    let mut next_expiry: Option<Duration> = None;
    table.retain(|_, times| {
        forget_old(times, now);
        let Some(&newest) = times.back() else {
            return false;
        };
        let expires_in = (newest + WINDOW).saturating_duration_since(now);
        next_expiry = Some(next_expiry.map_or(expires_in, |t| t.min(expires_in)));
        true
    });
    next_expiry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(user: &str, ip: [u8; 4]) -> Attempt {
        Attempt::new(user, Some(IpAddr::from(ip)))
    }

    /// `n` made-up names, each from an address of its own, so that no client limit is reached.
    fn flood(limiter: &RateLimiter, n: u32, now: Instant) -> Vec<Result<(), Refusal>> {
        (0..n)
            .map(|i| {
                let [_, b, c, d] = (i + 1).to_be_bytes();
                limiter.begin(&attempt(&format!("made-up-{i}"), [10, b, c, d]), now)
            })
            .collect()
    }

    #[test]
    fn the_sixth_try_waits_until_the_first_failure_ages_out() {
        let limiter = RateLimiter::default();
        let me = attempt("admin", [10, 0, 0, 1]);
        let start = Instant::now();
        for i in 0..MAX_FAILURES as u64 {
            let now = start + Duration::from_secs(i * 60);
            assert_eq!(limiter.begin(&me, now), Ok(()), "try {i}");
        }
        let now = start + Duration::from_secs(5 * 60);
        assert_eq!(
            limiter.begin(&me, now),
            Err(Refusal::Locked {
                retry_after: Duration::from_secs(10 * 60)
            })
        );
        // Once the first failure is 15 minutes old, one more try is allowed.
        assert_eq!(limiter.begin(&me, start + WINDOW), Ok(()));
    }

    #[test]
    fn pairs_are_counted_apart_and_success_forgets() {
        let limiter = RateLimiter::default();
        let me = attempt("admin", [10, 0, 0, 1]);
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            limiter.begin(&me, now).expect("under the limit");
        }
        assert!(limiter.begin(&me, now).is_err());
        assert!(limiter.begin(&attempt("admin", [10, 0, 0, 2]), now).is_ok());
        assert!(limiter.begin(&attempt("other", [10, 0, 0, 1]), now).is_ok());
        limiter.succeeded(&me);
        assert!(limiter.begin(&me, now).is_ok());
    }

    #[test]
    fn one_client_may_not_guess_more_than_its_share_whatever_the_names() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES_PER_CLIENT {
            let guess = attempt(&format!("name-{i}"), [10, 0, 0, 1]);
            assert_eq!(limiter.begin(&guess, now), Ok(()), "name {i}");
        }
        let next = attempt("yet-another-name", [10, 0, 0, 1]);
        assert!(matches!(
            limiter.begin(&next, now),
            Err(Refusal::Locked { .. })
        ));
        // Other clients are not affected.
        assert_eq!(limiter.begin(&attempt("x", [10, 0, 0, 2]), now), Ok(()));
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("an address");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("an address");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("an address");
        assert_eq!(Attempt::new("u", Some(a)), Attempt::new("u", Some(b)));
        assert_ne!(Attempt::new("u", Some(a)), Attempt::new("u", Some(other)));
    }

    /// Item 5 of the hardening issue: a full table used to drop its oldest entry, so flooding it
    /// with made-up names forgave a locked account.
    #[test]
    fn a_full_table_refuses_newcomers_and_never_forgives_the_locked() {
        let capacity = 100;
        let limiter = RateLimiter::new(capacity);
        let start = Instant::now();
        let frank = attempt("frank", [192, 0, 2, 7]);
        for _ in 0..MAX_FAILURES {
            limiter.begin(&frank, start).expect("under the limit");
        }
        assert!(matches!(
            limiter.begin(&frank, start),
            Err(Refusal::Locked { .. })
        ));

        // Flood past the table's size, a second later; frank holds two entries (pair, client).
        let later = start + Duration::from_secs(1);
        let results = flood(&limiter, 3 * capacity as u32, later);
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(accepted, (capacity - 2) / 2, "two entries per newcomer");
        let refused = results.last().expect("a result");
        // Room comes back when frank's entries age out, a second before the flood's.
        assert_eq!(
            *refused,
            Err(Refusal::Full {
                retry_after: WINDOW - Duration::from_secs(1)
            })
        );
        assert!(matches!(
            limiter.begin(&frank, later),
            Err(Refusal::Locked { .. })
        ));
        assert_eq!(limiter.footprint().entries, capacity);

        // Once everything has aged out, the expired entries make room again.
        let much_later = later + WINDOW;
        assert_eq!(
            limiter.begin(&attempt("newcomer", [198, 51, 100, 1]), much_later),
            Ok(())
        );
        assert_eq!(limiter.begin(&frank, much_later), Ok(()));
    }

    /// Item 4 of the hardening issue: keyed by the whole name, 2,000 guesses with 200 KB names
    /// held 400 MB. Keyed by a digest, the table's bytes do not depend on the names, and
    /// guesses past its capacity add nothing.
    #[test]
    fn the_table_holds_the_same_bytes_whatever_the_length_of_the_names() {
        let now = Instant::now();
        let footprint_after = |name_len: usize| {
            let limiter = RateLimiter::new(100);
            for i in 0..200u32 {
                let mut name = format!("{i:06}");
                name.push_str(&"x".repeat(name_len));
                let [_, b, c, d] = i.to_be_bytes();
                let _ = limiter.begin(&attempt(&name, [10, b, c, d]), now);
            }
            let footprint = limiter.footprint();
            assert_eq!(footprint.entries, 100, "{footprint:?}");
            assert!(footprint.bytes <= limiter.max_bytes(), "{footprint:?}");
            footprint
        };
        let short = footprint_after(1);
        let long = footprint_after(200 * 1024);
        assert_eq!(short, long);
        // The default table stays within a few megabytes, however it is filled.
        assert!(RateLimiter::default().max_bytes() < 16 * 1024 * 1024);
    }
}
