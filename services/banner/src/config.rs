//! The banner service's configuration, from environment variables.

use std::fmt;

use common::db::{Backend, redact};
use common::env::{self, ConfigError, Env};

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = "\
Environment:
  DATABASE_URL   sqlite:<file> or postgres://user:password@host/db
                 (default sqlite://banner.db, created if missing)
  BIND_ADDRESS   address to listen on (default 0.0.0.0)
  RUST_LOG       log filter (default info); LOG_FORMAT=json for JSON logs";

/// The database used when `DATABASE_URL` is unset: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://banner.db";

/// Everything banner needs to run.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: where the banners are stored.
    pub database_url: String,
}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let database_url = env::string(env, "DATABASE_URL", DEFAULT_DATABASE_URL);
        if Backend::of(&database_url).is_none() {
            return Err(ConfigError::new(
                "DATABASE_URL",
                &redact(&database_url),
                "expected a sqlite: or postgres:// URL",
            ));
        }
        Ok(Self { database_url })
    }
}

/// Written by hand so that a logged config never shows the database password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact(&self.database_url))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_default_is_a_sqlite_file_in_the_working_directory() {
        let config = Config::from_env(&HashMap::<&str, &str>::new()).expect("defaults are valid");
        assert_eq!(config.database_url, "sqlite://banner.db");
    }

    #[test]
    fn an_unknown_database_names_the_variable_and_hides_the_password() {
        let env = HashMap::from([("DATABASE_URL", "mysql://app:s3cret@db/banner")]);
        let err = Config::from_env(&env).expect_err("mysql is not supported");
        let message = err.to_string();
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let config = Config {
            database_url: "postgres://app:s3cret@db/banner".into(),
        };
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
