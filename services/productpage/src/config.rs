//! productpage's configuration, from environment variables.
//!
//! The peer addresses are built the Bookinfo way (`<SVC>_HOSTNAME`, `<SVC>_SERVICE_PORT`,
//! `SERVICES_DOMAIN`), so Istio's documentation applies unchanged. The per-call timeouts are
//! Bookinfo's and are not read from the environment: they are part of the behaviour the
//! fault-injection tasks demonstrate. They are still fields of [`Config`], so a test can shorten
//! them instead of waiting three seconds.

use std::time::Duration;

use common::client::PeerConnections;
use common::env::{self, ConfigError, Env};
use common::telemetry::TracingConfig;

pub use common::secret::{MIN_SECRET_LEN, SessionSecret};

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = concat!(
    "\
Environment:
  SERVICES_DOMAIN        appended as .<domain> to every peer host name (default: none)
  DETAILS_HOSTNAME       details host (default details)
  DETAILS_SERVICE_PORT   details port (default 9080)
  REVIEWS_HOSTNAME       reviews host (default reviews)
  REVIEWS_SERVICE_PORT   reviews port (default 9080)
  RATINGS_HOSTNAME       ratings host, for /api/v1/products/{id}/ratings (default ratings)
  RATINGS_SERVICE_PORT   ratings port (default 9080)
  BANNER_HOSTNAME        banner host (default banner)
  BANNER_SERVICE_PORT    banner port (default 9080)
  FLOOD_FACTOR           extra, discarded reviews calls per page, 0..=1000 (default 0)
  SESSION_SECRET         key that signs the login cookie, at least 32 bytes
                         (default: a random key per start; sessions then end on restart)
  PEER_CONNECTIONS       pooled (keep connections to peers) or per-call (a new one per call,
                         for DNS round robin; default pooled)
  BIND_ADDRESS           address to listen on (default 0.0.0.0)
  RUST_LOG               log filter (default info); LOG_FORMAT=json for JSON logs",
    common::tracing_env_help!()
);

/// The most `FLOOD_FACTOR` may ask for: enough to trip a rate limit, not enough to take the
/// machine down by a typo.
pub const MAX_FLOOD_FACTOR: u32 = 1000;

/// Everything productpage needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the peers live.
    pub peers: PeerUrls,
    /// How long to wait for each peer, per attempt.
    pub timeouts: Timeouts,
    /// `FLOOD_FACTOR`: extra reviews calls fired (and not awaited) for every page.
    pub flood_factor: u32,
    /// `SESSION_SECRET`; `None` means "generate one at start".
    pub session_secret: Option<SessionSecret>,
    /// `PEER_CONNECTIONS`: whether calls to the peers reuse connections.
    pub peer_connections: PeerConnections,
    /// `OTEL_*`: where this instance's spans go (see `common::telemetry`).
    pub tracing: TracingConfig,
}

/// The base URL of every peer, `http://host[.domain]:port`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerUrls {
    pub details: String,
    pub reviews: String,
    pub ratings: String,
    pub banner: String,
}

/// Per-attempt timeouts. The defaults are Bookinfo's: 3 s for details, reviews and ratings; the
/// banner is decoration, so it gets 1 s and the page never waits long for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub details: Duration,
    pub reviews: Duration,
    pub ratings: Duration,
    pub banner: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            details: Duration::from_secs(3),
            reviews: Duration::from_secs(3),
            ratings: Duration::from_secs(3),
            banner: Duration::from_secs(1),
        }
    }
}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let peers = PeerUrls {
            details: env::peer_url(env, "DETAILS", "details")?,
            reviews: env::peer_url(env, "REVIEWS", "reviews")?,
            ratings: env::peer_url(env, "RATINGS", "ratings")?,
            banner: env::peer_url(env, "BANNER", "banner")?,
        };
        let flood_factor: u32 = env::parse(env, "FLOOD_FACTOR", 0)?;
        if flood_factor > MAX_FLOOD_FACTOR {
            return Err(ConfigError::new(
                "FLOOD_FACTOR",
                &flood_factor.to_string(),
                format!("must be between 0 and {MAX_FLOOD_FACTOR}"),
            ));
        }
        let session_secret = SessionSecret::from_env(env, "SESSION_SECRET")?;
        Ok(Self {
            peers,
            timeouts: Timeouts::default(),
            flood_factor,
            session_secret,
            peer_connections: PeerConnections::from_env(env)?,
            tracing: TracingConfig::from_env(env, "productpage")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        testkit::env::config::<crate::Productpage>(pairs)
    }

    #[test]
    fn defaults_are_bookinfos() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.peers.details, "http://details:9080");
        assert_eq!(c.peers.reviews, "http://reviews:9080");
        assert_eq!(c.peers.ratings, "http://ratings:9080");
        assert_eq!(c.peers.banner, "http://banner:9080");
        assert_eq!(c.flood_factor, 0);
        assert_eq!(c.timeouts.reviews, Duration::from_secs(3));
        assert!(c.session_secret.is_none());
    }

    #[test]
    fn the_domain_applies_to_every_peer() {
        let c = config(&[
            ("SERVICES_DOMAIN", "bookinfo.svc"),
            ("BANNER_SERVICE_PORT", "8080"),
        ])
        .expect("valid");
        assert_eq!(c.peers.details, "http://details.bookinfo.svc:9080");
        assert_eq!(c.peers.banner, "http://banner.bookinfo.svc:8080");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("FLOOD_FACTOR", "lots"),
            ("FLOOD_FACTOR", "1001"),
            ("REVIEWS_SERVICE_PORT", "70000"),
            ("SESSION_SECRET", "too-short"),
        ] {
            let err = config(&[(name, value)]).expect_err("invalid");
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn the_secret_is_never_printed() {
        let c = config(&[("SESSION_SECRET", "0123456789abcdef0123456789abcdef")]).expect("valid");
        assert!(c.session_secret.is_some());
        assert!(!format!("{c:?}").contains("0123456789"));
    }
}
