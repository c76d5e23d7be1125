//! The banner service's configuration, from environment variables.
//!
//! Besides the database, the variables set up the admin side: the one admin account (user name,
//! and the password as an argon2 hash or as a file), the key that signs session cookies, the
//! largest image upload, and the public address under which uploaded images are linked.

use std::fmt;

use common::db::{Backend, redact};
use common::env::{self, ConfigError, Env};
use common::telemetry::TracingConfig;

use crate::auth::password::AdminAccount;

pub use common::secret::{MIN_SECRET_LEN, SessionSecret};

/// The variables, for `--help` and `docs/configuration.md`.
pub const ENV_HELP: &str = concat!(
    "\
Environment:
  DATABASE_URL                 sqlite:<file> or postgres://user:password@host/db
                               (default sqlite://banner.db, created if missing)
  BANNER_ADMIN_USER            user name of the admin account (default admin)
  BANNER_ADMIN_PASSWORD_HASH   the admin password as an argon2 PHC string ($argon2id$v=19$...)
  BANNER_ADMIN_PASSWORD_FILE   a file holding the admin password in plain text (a secret);
                               set one of the two: with neither, there is no admin account
                               and every write is refused
  BANNER_SESSION_SECRET        key that signs admin session cookies, at least 32 bytes
                               (default: a random key per start; sessions then end on restart)
  BANNER_MAX_IMAGE_BYTES       largest image upload in bytes (default 2097152, that is 2 MB)
  BANNER_PUBLIC_URL            base URL of image links, e.g. https://banner.example.com
                               (default: http://<Host header of the upload request>)
  BIND_ADDRESS                 address to listen on (default 0.0.0.0)
  RUST_LOG                     log filter (default info); LOG_FORMAT=json for JSON logs",
    common::tracing_env_help!()
);

/// The database used when `DATABASE_URL` is unset: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://banner.db";
/// The admin user name when `BANNER_ADMIN_USER` is unset.
pub const DEFAULT_ADMIN_USER: &str = "admin";
/// The largest image upload when `BANNER_MAX_IMAGE_BYTES` is unset: 2 MB.
pub const DEFAULT_MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// The largest `BANNER_MAX_IMAGE_BYTES` accepted. Images live in the database and are read
/// into memory whole, so a typo such as an extra zero should not let gigabytes in.
pub const MAX_MAX_IMAGE_BYTES: usize = 64 * 1024 * 1024;
/// Everything banner needs to run.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: where the banners are stored.
    pub database_url: String,
    /// The admin account, or `None` when no password is configured (then writes are refused).
    pub admin: Option<AdminAccount>,
    /// `BANNER_SESSION_SECRET`; `None` means "generate a key at start".
    pub session_secret: Option<SessionSecret>,
    /// `BANNER_MAX_IMAGE_BYTES`: the largest image upload.
    pub max_image_bytes: usize,
    /// `BANNER_PUBLIC_URL`, without a trailing slash; `None` means "from the `Host` header".
    pub public_url: Option<String>,
    /// `OTEL_*`: where this instance's spans go (see `common::telemetry`).
    pub tracing: TracingConfig,
}

impl Config {
    /// The defaults, with the given database: no admin account, a random session key.
    pub fn with_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            admin: None,
            session_secret: None,
            max_image_bytes: DEFAULT_MAX_IMAGE_BYTES,
            public_url: None,
            tracing: TracingConfig::new("banner"),
        }
    }

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let database_url = env::string(env, "DATABASE_URL", DEFAULT_DATABASE_URL);
        if Backend::of(&database_url).is_none() {
            return Err(ConfigError::new(
                "DATABASE_URL",
                &redact(&database_url),
                "expected a sqlite: or postgres:// URL",
            ));
        }
        let session_secret = SessionSecret::from_env(env, "BANNER_SESSION_SECRET")?;
        Ok(Self {
            database_url,
            admin: admin_account(env)?,
            session_secret,
            max_image_bytes: max_image_bytes(env)?,
            public_url: public_url(env)?,
            tracing: TracingConfig::from_env(env, "banner")?,
        })
    }
}

/// The admin account from `BANNER_ADMIN_USER` and one of `BANNER_ADMIN_PASSWORD_HASH` or
/// `BANNER_ADMIN_PASSWORD_FILE`. Setting both is refused: which one wins would be a guess, and a
/// wrong guess locks the operator out (or lets a forgotten password in).
fn admin_account(env: &dyn Env) -> Result<Option<AdminAccount>, ConfigError> {
    let user = env::string(env, "BANNER_ADMIN_USER", DEFAULT_ADMIN_USER);
    let hash = env.get("BANNER_ADMIN_PASSWORD_HASH");
    let file = env.get("BANNER_ADMIN_PASSWORD_FILE");
    let check_user = |user: String| {
        AdminAccount::check_user(&user)
            .map(|()| user.clone())
            .map_err(|why| ConfigError::new("BANNER_ADMIN_USER", &user, why))
    };
    match (hash, file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ConfigError::new(
            "BANNER_ADMIN_PASSWORD_HASH",
            "<hidden>",
            "is set together with BANNER_ADMIN_PASSWORD_FILE: set only one of the two",
        )),
        (Some(hash), None) => {
            let user = check_user(user)?;
            AdminAccount::from_hash(user, &hash)
                .map(Some)
                .map_err(|why| ConfigError::new("BANNER_ADMIN_PASSWORD_HASH", "<hidden>", why))
        }
        (None, Some(path)) => {
            let user = check_user(user)?;
            let password = read_password_file(&path)
                .map_err(|why| ConfigError::new("BANNER_ADMIN_PASSWORD_FILE", &path, why))?;
            AdminAccount::from_password(user, &password)
                .map(Some)
                .map_err(|why| ConfigError::new("BANNER_ADMIN_PASSWORD_FILE", &path, why))
        }
    }
}

/// The password in a secret file. One trailing line break is not part of it: `echo secret >
/// file` writes one, and a password that silently ends in `\n` could never be typed.
fn read_password_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(password.to_string())
}

fn max_image_bytes(env: &dyn Env) -> Result<usize, ConfigError> {
    let bytes: usize = env::parse(env, "BANNER_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES)?;
    if bytes == 0 || bytes > MAX_MAX_IMAGE_BYTES {
        return Err(ConfigError::new(
            "BANNER_MAX_IMAGE_BYTES",
            &bytes.to_string(),
            format!("must be between 1 and {MAX_MAX_IMAGE_BYTES}"),
        ));
    }
    Ok(bytes)
}

/// An absolute http(s) URL with nothing after the host and optional path prefix, so that
/// `<url>/images/3` is the address of image 3.
fn public_url(env: &dyn Env) -> Result<Option<String>, ConfigError> {
    let Some(raw) = env.get("BANNER_PUBLIC_URL") else {
        return Ok(None);
    };
    let bad = |why: &str| ConfigError::new("BANNER_PUBLIC_URL", &raw, why);
    let parsed = url::Url::parse(&raw).map_err(|e| bad(&format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        return Err(bad("expected an http:// or https:// URL"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("expected no query string or fragment"));
    }
    Ok(Some(raw.trim_end_matches('/').to_string()))
}

/// Written by hand so that a logged config never shows the database password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact(&self.database_url))
            .field("admin", &self.admin)
            .field("session_secret", &self.session_secret)
            .field("max_image_bytes", &self.max_image_bytes)
            .field("public_url", &self.public_url)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write;

    use super::*;

    #[test]
    fn the_default_is_a_sqlite_file_and_no_admin_account() {
        let config = Config::from_env(&HashMap::<&str, &str>::new()).expect("defaults are valid");
        assert_eq!(config.database_url, "sqlite://banner.db");
        assert!(config.admin.is_none());
        assert!(config.session_secret.is_none());
        assert_eq!(config.max_image_bytes, 2 * 1024 * 1024);
        assert_eq!(config.public_url, None);
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
    fn debug_output_hides_the_passwords() {
        let mut config = Config::with_database("postgres://app:s3cret@db/banner");
        config.admin = Some(AdminAccount::from_password("admin".into(), "hunter22").expect("ok"));
        config.session_secret = Some(SessionSecret::new([7u8; 32]).expect("long enough"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(!debug.contains("argon2"), "{debug}");
        assert!(!debug.contains("7, 7"), "{debug}");
    }

    #[test]
    fn the_password_file_is_read_without_its_line_break() {
        let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
        writeln!(file, "correct horse").expect("written");
        let path = file.path().display().to_string();
        let env = HashMap::from([
            ("BANNER_ADMIN_USER", "root"),
            ("BANNER_ADMIN_PASSWORD_FILE", path.as_str()),
        ]);
        let admin = Config::from_env(&env)
            .expect("valid")
            .admin
            .expect("an account");
        assert_eq!(admin.user(), "root");
        assert!(admin.verify("root", "correct horse"));
        assert!(!admin.verify("root", "correct horse\n"));
    }

    #[test]
    fn a_hash_is_accepted_and_verified() {
        let hash = crate::auth::password::argon2_phc("pw").expect("hashable");
        let env = HashMap::from([("BANNER_ADMIN_PASSWORD_HASH", hash.as_str())]);
        let admin = Config::from_env(&env).expect("valid").admin.expect("set");
        assert_eq!(admin.user(), "admin");
        assert!(admin.verify("admin", "pw"));
    }

    #[test]
    fn bad_admin_settings_name_their_variable() {
        let missing = "/nonexistent/banner-password";
        let cases = [
            (
                vec![
                    ("BANNER_ADMIN_PASSWORD_HASH", "$argon2id$x"),
                    ("BANNER_ADMIN_PASSWORD_FILE", missing),
                ],
                "BANNER_ADMIN_PASSWORD_FILE",
            ),
            (
                vec![("BANNER_ADMIN_PASSWORD_HASH", "plain-text")],
                "BANNER_ADMIN_PASSWORD_HASH",
            ),
            (
                vec![("BANNER_ADMIN_PASSWORD_FILE", missing)],
                "BANNER_ADMIN_PASSWORD_FILE",
            ),
            (
                vec![
                    ("BANNER_ADMIN_USER", "a\u{7}b"),
                    ("BANNER_ADMIN_PASSWORD_FILE", missing),
                ],
                "BANNER_ADMIN_USER",
            ),
            (
                vec![("BANNER_SESSION_SECRET", "short")],
                "BANNER_SESSION_SECRET",
            ),
            (
                vec![("BANNER_MAX_IMAGE_BYTES", "0")],
                "BANNER_MAX_IMAGE_BYTES",
            ),
            (
                vec![("BANNER_MAX_IMAGE_BYTES", "2MB")],
                "BANNER_MAX_IMAGE_BYTES",
            ),
            (vec![("BANNER_PUBLIC_URL", "ftp://x")], "BANNER_PUBLIC_URL"),
            (vec![("BANNER_PUBLIC_URL", "/images")], "BANNER_PUBLIC_URL"),
        ];
        for (pairs, variable) in cases {
            let env: HashMap<&str, &str> = pairs.iter().copied().collect();
            let message = Config::from_env(&env).expect_err("invalid").to_string();
            assert!(message.contains(variable), "{pairs:?}: {message}");
        }
    }

    #[test]
    fn both_password_variables_are_refused_naming_both() {
        let env = HashMap::from([
            (
                "BANNER_ADMIN_PASSWORD_HASH",
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
            ),
            ("BANNER_ADMIN_PASSWORD_FILE", "/run/secrets/banner"),
        ]);
        let message = Config::from_env(&env).expect_err("both set").to_string();
        assert!(message.contains("BANNER_ADMIN_PASSWORD_HASH"), "{message}");
        assert!(message.contains("BANNER_ADMIN_PASSWORD_FILE"), "{message}");
    }

    #[test]
    fn the_public_url_loses_its_trailing_slash() {
        let env = HashMap::from([("BANNER_PUBLIC_URL", "https://cdn.example.com/banner/")]);
        let config = Config::from_env(&env).expect("valid");
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://cdn.example.com/banner")
        );
    }
}
