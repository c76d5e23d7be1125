//! The monolith's configuration: the service libraries' own, read from one environment.
//!
//! The monolith has no settings of its own. Each library it links reads its `Config` from the
//! same environment, exactly as its service would, so a variable means the same thing in both
//! stages. Only three *defaults* differ, because one process plays one version of everything:
//!
//! | variable         | service default      | monolith default       | why                      |
//! |------------------|----------------------|------------------------|--------------------------|
//! | `DATABASE_URL`   | `sqlite://banner.db` | `sqlite://monolith.db` | one database for the app |
//! | `ENABLE_RATINGS` | `false` (reviews v1) | `true`                 | the page shows stars     |
//! | `STAR_COLOR`     | `black`              | `black`                | (the same: reviews v2)   |
//!
//! So the monolith plays reviews **v2**, black stars, every time: there is no second version to
//! route to, which is the point. `ENABLE_RATINGS=false` or `STAR_COLOR=red` pick another one
//! for the whole process, at start.

use std::collections::HashMap;

use common::env::{ConfigError, Env};

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = concat!(
    "\
Environment:
  DATABASE_URL     the one database (banners): sqlite:<file> or postgres://user:password@host/db
                   (default sqlite://monolith.db, created if missing)
  ENABLE_RATINGS   show star ratings: true or false (default true: reviews v2)
  STAR_COLOR       colour of the stars (default black)
  HOSTNAME         shown as \"Reviews served by\" (\"null\" when unset)
  SESSION_SECRET   key that signs the product page's login cookie, at least 32 bytes
                   (default: a random key per start)
  FLOOD_FACTOR     extra, discarded reviews calls per page, 0..=1000 (default 0)
The banner admin (/admin) and the banner write API, as in the banner service:
  BANNER_ADMIN_USER            user name of the admin account (default admin)
  BANNER_ADMIN_PASSWORD_HASH   the admin password as an argon2 PHC string ($argon2id$v=19$...)
  BANNER_ADMIN_PASSWORD_FILE   a file holding the admin password in plain text (a secret);
                               set one of the two: with neither, banner writes are refused
  BANNER_SESSION_SECRET        key that signs admin session cookies, at least 32 bytes
                               (default: a random key per start)
  BANNER_MAX_IMAGE_BYTES       largest image upload in bytes (default 2097152, that is 2 MB)
  BANNER_PUBLIC_URL            base URL of image links (default: http://<Host header>)
Every process:
  BIND_ADDRESS     address to listen on (default 0.0.0.0)
  RUST_LOG         log filter (default info); LOG_FORMAT=json for JSON logs",
    common::tracing_env_help!()
);

/// The database used when `DATABASE_URL` is unset: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://monolith.db";

/// The defaults that differ from the services' (see the module docs).
const MONOLITH_DEFAULTS: [(&str, &str); 3] = [
    ("DATABASE_URL", DEFAULT_DATABASE_URL),
    ("ENABLE_RATINGS", "true"),
    ("STAR_COLOR", "black"),
];

/// Everything the monolith needs: the configuration of each library that has one. details and
/// ratings have nothing to configure here (the book is built in; ratings is v1, in memory).
#[derive(Debug, Clone)]
pub struct Config {
    pub productpage: productpage::Config,
    pub reviews: reviews::Config,
    pub banner: banner::Config,
    /// `OTEL_*`: where the monolith's spans go, under its own name (see `common::telemetry`).
    pub tracing: common::telemetry::TracingConfig,
}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let env = WithDefaults {
            env,
            defaults: HashMap::from(MONOLITH_DEFAULTS),
        };
        Ok(Self {
            productpage: productpage::Config::from_env(&env)?,
            reviews: reviews::Config::from_env(&env)?,
            banner: banner::Config::from_env(&env)?,
            tracing: common::telemetry::TracingConfig::from_env(&env, "monolith")?,
        })
    }
}

/// An environment in which some unset variables have a value: the monolith's defaults, put in
/// front of the libraries' own.
struct WithDefaults<'a> {
    env: &'a dyn Env,
    defaults: HashMap<&'static str, &'static str>,
}

impl Env for WithDefaults<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .or_else(|| self.defaults.get(name).map(|v| v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        testkit::env::config::<crate::Monolith>(pairs)
    }

    #[test]
    fn no_variables_is_one_database_file_and_black_stars() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.banner.database_url, "sqlite://monolith.db");
        assert!(c.reviews.enable_ratings);
        assert_eq!(c.reviews.star_color, "black");
    }

    #[test]
    fn the_environment_wins_over_the_monolith_defaults() {
        let c = config(&[
            ("DATABASE_URL", "sqlite:///srv/app.db"),
            ("ENABLE_RATINGS", "false"),
            ("STAR_COLOR", "red"),
            ("HOSTNAME", "monolith"),
        ])
        .expect("valid");
        assert_eq!(c.banner.database_url, "sqlite:///srv/app.db");
        assert!(!c.reviews.enable_ratings);
        assert_eq!(c.reviews.star_color, "red");
        assert_eq!(c.reviews.pod_name.as_deref(), Some("monolith"));
    }

    #[test]
    fn a_bad_value_is_refused_by_the_library_that_reads_it_and_names_the_variable() {
        for (name, value) in [
            ("DATABASE_URL", "mysql://db/app"),
            ("ENABLE_RATINGS", "ture"),
            ("SESSION_SECRET", "too-short"),
        ] {
            let err = config(&[(name, value)]).expect_err("invalid");
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }
}
