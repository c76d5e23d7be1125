//! The reviews service's configuration, from environment variables.
//!
//! The three Bookinfo versions of reviews are one binary with different settings:
//! `ENABLE_RATINGS` decides whether ratings is called at all, `STAR_COLOR` the colour of the
//! stars. `STAR_COLOR` also picks how long reviews waits for ratings (see
//! [`ratings_timeout_for`]), and that difference is what Istio's fault-injection task shows.

use std::time::Duration;

use common::client::PeerConnections;
use common::env::{self, ConfigError, Env};
use common::telemetry::TracingConfig;

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = concat!(
    "\
Environment:
  ENABLE_RATINGS        call the ratings service and show stars: true or false (default false)
  STAR_COLOR            colour of the stars (default black); black waits 10 s for ratings,
                        any other colour 2.5 s
  SERVICE_VERSION       version label, informational (default v1)
  RATINGS_HOSTNAME      host of the ratings service (default ratings)
  RATINGS_SERVICE_PORT  port of the ratings service (default 9080)
  SERVICES_DOMAIN       domain appended to peer host names, e.g. default.svc.cluster.local
  HOSTNAME              shown as \"podname\" (\"null\" when unset, as in Bookinfo)
  CLUSTER_NAME          shown as \"clustername\" (\"null\" when unset, as in Bookinfo)
  PEER_CONNECTIONS      pooled (keep connections to ratings) or per-call (default pooled)
  BIND_ADDRESS          address to listen on (default 0.0.0.0)
  RUST_LOG              log filter (default info); LOG_FORMAT=json for JSON logs",
    common::tracing_env_help!()
);

/// The star colour of v1 and v2, and the default.
pub const DEFAULT_STAR_COLOR: &str = "black";

/// Everything reviews needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SERVICE_VERSION`: shown in logs only, as in Bookinfo.
    pub service_version: String,
    /// `ENABLE_RATINGS`: whether reviews calls ratings (v2, v3) or not (v1).
    pub enable_ratings: bool,
    /// `STAR_COLOR`: copied into every rating.
    pub star_color: String,
    /// Base URL of ratings, from `RATINGS_HOSTNAME`, `SERVICES_DOMAIN`, `RATINGS_SERVICE_PORT`.
    pub ratings_url: String,
    /// How long one call to ratings may take, connecting included. Derived from `STAR_COLOR`;
    /// no variable sets it, but tests shorten it so that they need not wait seconds.
    pub ratings_timeout: Duration,
    /// `HOSTNAME`: the pod name shown on the page.
    pub pod_name: Option<String>,
    /// `CLUSTER_NAME`: the cluster name shown in multicluster demos.
    pub cluster_name: Option<String>,
    /// `PEER_CONNECTIONS`: whether calls to ratings reuse connections.
    pub peer_connections: PeerConnections,
    /// `OTEL_*`: where this instance's spans go (see `common::telemetry`).
    pub tracing: TracingConfig,
}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let star_color = env::string(env, "STAR_COLOR", DEFAULT_STAR_COLOR);
        let service_version = env::string(env, "SERVICE_VERSION", "v1");
        Ok(Self {
            tracing: TracingConfig::from_env(env, "reviews")?.with_version(&service_version),
            service_version,
            enable_ratings: env::flag(env, "ENABLE_RATINGS", false)?,
            ratings_timeout: ratings_timeout_for(&star_color),
            star_color,
            ratings_url: env::peer_url(env, "RATINGS", "ratings")?,
            pod_name: env.get("HOSTNAME"),
            cluster_name: env.get("CLUSTER_NAME"),
            peer_connections: PeerConnections::from_env(env)?,
        })
    }
}

impl Default for Config {
    /// Bookinfo's reviews v1 with no variables set.
    fn default() -> Self {
        Self {
            service_version: "v1".into(),
            enable_ratings: false,
            star_color: DEFAULT_STAR_COLOR.into(),
            ratings_url: "http://ratings:9080".into(),
            ratings_timeout: ratings_timeout_for(DEFAULT_STAR_COLOR),
            pod_name: None,
            cluster_name: None,
            peer_connections: PeerConnections::Pooled,
            tracing: TracingConfig::new("reviews").with_version("v1"),
        }
    }
}

/// The ratings timeout Bookinfo ties to the star colour: 10 s for black stars (v2), 2.5 s for
/// any other colour (v3).
///
/// Istio's fault-injection task relies on these numbers: with a 7 s delay injected into
/// ratings, v2 would wait for it (and productpage, which gives up after 3 s, shows an error),
/// while v3 gives up after 2.5 s and shows the reviews without stars.
pub fn ratings_timeout_for(star_color: &str) -> Duration {
    if star_color == DEFAULT_STAR_COLOR {
        Duration::from_secs(10)
    } else {
        Duration::from_millis(2500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        testkit::env::config::<crate::Reviews>(pairs)
    }

    #[test]
    fn no_variables_is_reviews_v1() {
        let c = config(&[]).expect("defaults are valid");
        assert!(!c.enable_ratings);
        assert_eq!(c.star_color, "black");
        assert_eq!(c.service_version, "v1");
        assert_eq!(c.ratings_url, "http://ratings:9080");
        assert_eq!(c.ratings_timeout, Duration::from_secs(10));
        assert_eq!(c.pod_name, None);
        assert_eq!(c.cluster_name, None);
    }

    #[test]
    fn red_stars_wait_less_for_ratings_than_black_ones() {
        let v2 = config(&[("ENABLE_RATINGS", "true")]).expect("valid");
        let v3 = config(&[("ENABLE_RATINGS", "true"), ("STAR_COLOR", "red")]).expect("valid");
        assert_eq!(v2.ratings_timeout, Duration::from_secs(10));
        assert_eq!(v3.ratings_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn the_ratings_url_is_built_from_the_peer_variables() {
        let c = config(&[
            ("RATINGS_HOSTNAME", "ratings-v2"),
            ("RATINGS_SERVICE_PORT", "9081"),
            ("SERVICES_DOMAIN", "bookinfo.svc"),
        ])
        .expect("valid");
        assert_eq!(c.ratings_url, "http://ratings-v2.bookinfo.svc:9081");
    }

    #[test]
    fn a_misspelt_enable_ratings_is_refused_by_name() {
        let err = config(&[("ENABLE_RATINGS", "ture")]).expect_err("not a boolean");
        assert!(err.to_string().contains("ENABLE_RATINGS"), "{err}");
    }

    #[test]
    fn pod_and_cluster_names_come_from_the_environment() {
        let c = config(&[("HOSTNAME", "reviews-v2-abc"), ("CLUSTER_NAME", "east")]).expect("valid");
        assert_eq!(c.pod_name.as_deref(), Some("reviews-v2-abc"));
        assert_eq!(c.cluster_name.as_deref(), Some("east"));
    }
}
