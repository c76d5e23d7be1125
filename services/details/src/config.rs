//! The details service's configuration, from environment variables.

use common::env::{self, ConfigError, Env};
use common::telemetry::TracingConfig;

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = concat!(
    "\
Environment:
  SERVICE_VERSION   version label, informational (default v1)
  ENABLE_EXTERNAL_BOOK_SERVICE
                    Bookinfo's details v2 (Google Books); not implemented: a warning at start
  BIND_ADDRESS      address to listen on (default 0.0.0.0)
  RUST_LOG          log filter (default info); LOG_FORMAT=json for JSON logs",
    common::tracing_env_help!()
);

/// Everything details needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SERVICE_VERSION`: shown in logs only, as in Bookinfo.
    pub service_version: String,
    /// `ENABLE_EXTERNAL_BOOK_SERVICE`: Bookinfo's details v2. Read only to warn that sailkit
    /// does not implement it, rather than ignore it silently.
    pub external_book_service: bool,
    /// `OTEL_*`: where this instance's spans go (see `common::telemetry`).
    pub tracing: TracingConfig,
}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let service_version = env::string(env, "SERVICE_VERSION", "v1");
        Ok(Self {
            tracing: TracingConfig::from_env(env, "details")?.with_version(&service_version),
            service_version,
            external_book_service: env::flag(env, "ENABLE_EXTERNAL_BOOK_SERVICE", false)?,
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            service_version: "v1".into(),
            external_book_service: false,
            tracing: TracingConfig::new("details").with_version("v1"),
        }
    }
}
