//! The ratings service's configuration, from environment variables.
//!
//! Bookinfo builds one image per ratings variant; here `SERVICE_VERSION` picks the variant when
//! the service starts, so one binary plays them all. The fault variants exist for Istio's
//! observability and resilience demos; their timings are Bookinfo's by default and can be
//! shortened with the `RATINGS_FAULT_*` variables (the tests do, so they need not wait minutes).

use std::fmt;
use std::time::Duration;

use common::env::{self, ConfigError, Env};
use common::telemetry::TracingConfig;

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = concat!(
    "\
Environment:
  SERVICE_VERSION            v1 (default): ratings in memory, POST stores new ones
                             v2: ratings from the database in DATABASE_URL
                             v-faulty: a share of GETs answer 503
                             v-delayed: a share of GETs are delayed
                             v-unavailable: GETs flip between working and 503 every period
                             v-unhealthy: GETs and /health flip between working and failing
  DATABASE_URL               v2 only: sqlite:... or postgres://... (default sqlite://ratings.db)
  RATINGS_FAULT_PROBABILITY  v-faulty, v-delayed: share of GETs affected, 0 to 1 (default 0.5)
  RATINGS_FAULT_DELAY_MS     v-delayed: delay in milliseconds (default 7000)
  RATINGS_FAULT_PERIOD_MS    v-unavailable, v-unhealthy: time between flips in milliseconds
                             (default 60000 for v-unavailable, 900000 for v-unhealthy)
  RATINGS_FAULT_SEED         v-faulty, v-delayed: seed of the random draws, for repeatable runs
                             (default: a new seed at each start)
  BIND_ADDRESS               address to listen on (default 0.0.0.0)
  RUST_LOG                   log filter (default info); LOG_FORMAT=json for JSON logs",
    common::tracing_env_help!()
);

/// The database ratings v2 uses when `DATABASE_URL` is unset: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ratings.db";

/// Which ratings Bookinfo ships, by its `SERVICE_VERSION` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `v1`: Reviewer1 5 stars, Reviewer2 4, or what was POSTed, kept in memory.
    V1,
    /// `v2`: the first two rows of the `ratings` table.
    V2,
    /// `v-faulty`: v1, but a share of GETs fail with 503.
    Faulty,
    /// `v-delayed`: v1, but a share of GETs are answered late.
    Delayed,
    /// `v-unavailable`: v1, but GETs fail with 503 every other period.
    Unavailable,
    /// `v-unhealthy`: v1, but GETs fail with 503 *and* `/health` with 500 every other period.
    Unhealthy,
}

impl Version {
    /// Every version, in the order `--help` lists them.
    pub const ALL: [Version; 6] = [
        Version::V1,
        Version::V2,
        Version::Faulty,
        Version::Delayed,
        Version::Unavailable,
        Version::Unhealthy,
    ];

    /// The `SERVICE_VERSION` value that selects this version.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
            Version::Faulty => "v-faulty",
            Version::Delayed => "v-delayed",
            Version::Unavailable => "v-unavailable",
            Version::Unhealthy => "v-unhealthy",
        }
    }

    /// The version called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the fault variants misbehave. Only the fields of the running variant are used.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSettings {
    /// v-faulty, v-delayed: the chance, from 0 to 1, that a GET is affected.
    pub probability: f64,
    /// v-delayed: how long an affected GET waits before answering.
    pub delay: Duration,
    /// v-unavailable, v-unhealthy: how long each phase (working, failing) lasts.
    pub period: Duration,
    /// v-faulty, v-delayed: the seed of the random draws; `None` picks one at start.
    pub seed: Option<u64>,
}

impl FaultSettings {
    /// Bookinfo's numbers for `version`: half the requests, 7 s delay, and a flip every minute
    /// (v-unavailable) or every 15 minutes (v-unhealthy, long enough for Kiali's 10 and 30
    /// minute windows to show about half errors, and for Kubernetes' restart back-off to reset).
    pub fn bookinfo(version: Version) -> Self {
        let period = match version {
            Version::Unhealthy => Duration::from_secs(15 * 60),
            _ => Duration::from_secs(60),
        };
        Self {
            probability: 0.5,
            delay: Duration::from_secs(7),
            period,
            seed: None,
        }
    }
}

/// Everything ratings needs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `SERVICE_VERSION`: which behaviour to play.
    pub version: Version,
    /// `DATABASE_URL`: read by v2 only.
    pub database_url: String,
    /// `RATINGS_FAULT_*`: read by the fault variants only.
    pub faults: FaultSettings,
    /// `OTEL_*`: where this instance's spans go (see `common::telemetry`).
    pub tracing: TracingConfig,
}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let name = env::string(env, "SERVICE_VERSION", "v1");
        let version = Version::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = Version::ALL.iter().map(|v| v.name()).collect();
            ConfigError::new(
                "SERVICE_VERSION",
                &name,
                format!("expected one of {}", known.join(", ")),
            )
        })?;
        Ok(Self {
            version,
            database_url: env::string(env, "DATABASE_URL", DEFAULT_DATABASE_URL),
            faults: fault_settings(env, version)?,
            tracing: TracingConfig::from_env(env, "ratings")?.with_version(version.name()),
        })
    }

    /// The configuration of `version` with Bookinfo's defaults for everything else.
    pub fn for_version(version: Version) -> Self {
        Self {
            version,
            database_url: DEFAULT_DATABASE_URL.into(),
            faults: FaultSettings::bookinfo(version),
            tracing: TracingConfig::new("ratings").with_version(version.name()),
        }
    }
}

impl Default for Config {
    /// Bookinfo's ratings v1.
    fn default() -> Self {
        Self::for_version(Version::V1)
    }
}

fn fault_settings(env: &dyn Env, version: Version) -> Result<FaultSettings, ConfigError> {
    let bookinfo = FaultSettings::bookinfo(version);
    let probability: f64 = env::parse(env, "RATINGS_FAULT_PROBABILITY", bookinfo.probability)?;
    if !(0.0..=1.0).contains(&probability) {
        return Err(ConfigError::new(
            "RATINGS_FAULT_PROBABILITY",
            &probability.to_string(),
            "expected a number from 0 to 1",
        ));
    }
    let delay_ms = env::parse(env, "RATINGS_FAULT_DELAY_MS", millis(bookinfo.delay))?;
    let period_ms = env::parse(env, "RATINGS_FAULT_PERIOD_MS", millis(bookinfo.period))?;
    if period_ms == 0 {
        return Err(ConfigError::new(
            "RATINGS_FAULT_PERIOD_MS",
            "0",
            "the period must be at least 1 ms",
        ));
    }
    let seed = match env.get("RATINGS_FAULT_SEED") {
        None => None,
        Some(_) => Some(env::parse(env, "RATINGS_FAULT_SEED", 0u64)?),
    };
    Ok(FaultSettings {
        probability,
        delay: Duration::from_millis(delay_ms),
        period: Duration::from_millis(period_ms),
        seed,
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        testkit::env::config::<crate::Ratings>(pairs)
    }

    #[test]
    fn no_variables_is_ratings_v1_with_bookinfo_timings() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c, Config::default());
        assert_eq!(c.version, Version::V1);
        assert_eq!(c.database_url, "sqlite://ratings.db");
        assert_eq!(c.faults.probability, 0.5);
        assert_eq!(c.faults.delay, Duration::from_secs(7));
    }

    #[test]
    fn every_bookinfo_version_name_is_understood() {
        for name in [
            "v1",
            "v2",
            "v-faulty",
            "v-delayed",
            "v-unavailable",
            "v-unhealthy",
        ] {
            let env = HashMap::from([("SERVICE_VERSION", name)]);
            let c = Config::from_env(&env).expect("a Bookinfo version");
            assert_eq!(c.version.name(), name);
        }
    }

    #[test]
    fn an_unknown_version_is_refused_by_name() {
        let err = config(&[("SERVICE_VERSION", "v3")]).expect_err("no ratings v3");
        let message = err.to_string();
        assert!(message.contains("SERVICE_VERSION"), "{message}");
        assert!(message.contains("v-unhealthy"), "{message}");
    }

    #[test]
    fn the_flip_period_depends_on_the_variant() {
        let unavailable = config(&[("SERVICE_VERSION", "v-unavailable")]).expect("valid");
        let unhealthy = config(&[("SERVICE_VERSION", "v-unhealthy")]).expect("valid");
        assert_eq!(unavailable.faults.period, Duration::from_secs(60));
        assert_eq!(unhealthy.faults.period, Duration::from_secs(900));
    }

    #[test]
    fn fault_timings_can_be_shortened() {
        let c = config(&[
            ("SERVICE_VERSION", "v-delayed"),
            ("RATINGS_FAULT_PROBABILITY", "1"),
            ("RATINGS_FAULT_DELAY_MS", "50"),
            ("RATINGS_FAULT_PERIOD_MS", "200"),
            ("RATINGS_FAULT_SEED", "42"),
        ])
        .expect("valid");
        assert_eq!(
            c.faults,
            FaultSettings {
                probability: 1.0,
                delay: Duration::from_millis(50),
                period: Duration::from_millis(200),
                seed: Some(42),
            }
        );
    }

    #[test]
    fn impossible_fault_settings_are_refused_by_name() {
        for (name, value) in [
            ("RATINGS_FAULT_PROBABILITY", "1.5"),
            ("RATINGS_FAULT_PROBABILITY", "half"),
            ("RATINGS_FAULT_DELAY_MS", "-1"),
            ("RATINGS_FAULT_PERIOD_MS", "0"),
            ("RATINGS_FAULT_SEED", "x"),
        ] {
            let err = config(&[(name, value)]).expect_err("not valid");
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
