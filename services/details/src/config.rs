//! The details service's configuration, from environment variables.

use common::env::{self, ConfigError, Env};

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = "\
Environment:
  SERVICE_VERSION   version label, informational (default v1)
  BIND_ADDRESS      address to listen on (default 0.0.0.0)
  RUST_LOG          log filter (default info); LOG_FORMAT=json for JSON logs";

/// Everything details needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SERVICE_VERSION`: shown in logs only, as in Bookinfo.
    pub service_version: String,
}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self {
            service_version: env::string(env, "SERVICE_VERSION", "v1"),
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            service_version: "v1".into(),
        }
    }
}
