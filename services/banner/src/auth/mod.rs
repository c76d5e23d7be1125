//! Who may change banners: one admin account, two ways to prove it.
//!
//! | where                        | how the admin proves who they are                       |
//! |------------------------------|---------------------------------------------------------|
//! | admin pages (`/admin/...`)   | signs in once on `/admin/login`; a signed session cookie |
//! | JSON writes (`POST`/`PUT`/`DELETE /api/v1/banners...`) | `Authorization: Basic` on every request (`curl -u admin:PASSWORD`) |
//! | everything else              | nothing: reading banners and images is public            |
//!
//! The two are kept apart on purpose. A cookie is sent by the browser automatically, which is
//! what makes forms convenient and also what cross-site request forgery abuses; so cookie
//! sessions work only on the admin pages, where every form carries a CSRF token. The JSON API
//! ignores cookies and wants credentials in each request, which no other site can make a browser
//! add. Both paths check the password through [`Auth::check_password`], under the same rate
//! limit.
//!
//! Layout:
//! - [`password`]: the admin account and the argon2 password check.
//! - [`session`]: the signed session cookie.
//! - [`csrf`]: the token in every form.
//! - [`rate_limit`]: at most five wrong passwords per user and client per 15 minutes, in a
//!   table of bounded size.
//! - [`basic`]: the `Authorization: Basic` extractor of the JSON API.
//! - [`AdminSession`] (here): the extractor of the admin pages.

pub mod basic;
pub mod csrf;
pub mod password;
pub mod rate_limit;
pub mod session;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::cookie::Key;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::AppState;
use crate::config::Config;
use crate::error::{Error, Page};
use password::AdminAccount;
use rate_limit::{Attempt, RateLimiter};
use session::Session;

/// How many password checks may run at once. Each one holds a thread and about 19 MiB for tens
/// of milliseconds (argon2's cost), so a flood of sign-in attempts must queue rather than
/// exhaust the machine.
const CONCURRENT_CHECKS: usize = 2;

/// The longest user name a sign-in may send, in bytes. No account name comes near it (see
/// `password::MAX_USER_CHARS`), so a longer one is refused before any work is done on it.
pub const MAX_USER_BYTES: usize = 256;

/// How much of a user name the log shows.
const LOGGED_NAME_CHARS: usize = 64;

/// Everything about authentication that lives as long as the service.
#[derive(Debug)]
pub struct Auth {
    admin: Option<AdminAccount>,
    key: Key,
    secure_cookies: bool,
    limiter: RateLimiter,
    checks: Semaphore,
}

impl Auth {
    pub fn new(config: &Config) -> Self {
        Self::with_limiter(config, RateLimiter::default())
    }

    /// [`Auth::new`] with a limiter of the caller's, such as one with a small table.
    pub fn with_limiter(config: &Config, limiter: RateLimiter) -> Self {
        let key = match &config.session_secret {
            Some(secret) => Key::derive_from(secret.as_bytes()),
            None => {
                tracing::warn!(
                    "BANNER_SESSION_SECRET is not set: using a random key, so admin sessions \
                     end when the service restarts and do not work across replicas"
                );
                Key::generate()
            }
        };
        match &config.admin {
            Some(admin) => tracing::info!(user = admin.user(), "admin account configured"),
            None => tracing::warn!(
                "no admin account: set BANNER_ADMIN_PASSWORD_HASH or BANNER_ADMIN_PASSWORD_FILE \
                 to use the admin pages and the write API"
            ),
        }
        Self {
            admin: config.admin.clone(),
            key,
            secure_cookies: config
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
            limiter,
            checks: Semaphore::new(CONCURRENT_CHECKS),
        }
    }

    /// The admin account; [`Error::NoAdminAccount`] when none is configured.
    pub fn admin(&self) -> Result<&AdminAccount, Error> {
        self.admin.as_ref().ok_or(Error::NoAdminAccount)
    }

    /// The key that signs session cookies and CSRF tokens.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Whether cookies get the `Secure` attribute (only sent over https).
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// Checks `user` and `password` against the admin account, under the limits of
    /// [`rate_limit`]. [`Error::WrongPassword`] says nothing about which of the two was wrong.
    /// Every failure and refusal is logged at warn level, so that an operator sees an attack.
    pub async fn check_password(
        &self,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let admin = self.admin()?.clone();
        let who = Who { user, client };
        // Refused at the door, before any hashing or counting: no name this long can be right.
        if user.len() > MAX_USER_BYTES {
            tracing::warn!(%who, "sign-in refused: the user name is too long");
            return Err(Error::invalid(
                "user",
                format!("must be at most {MAX_USER_BYTES} bytes, got {}", user.len()),
            ));
        }
        // Wait for a turn first, then count: the attempt is counted as a failure until the
        // password proves right (see `rate_limit`), and with at most CONCURRENT_CHECKS counted
        // but unchecked at any time, the admin's own requests sent at once never add up to
        // the limit.
        let _turn = self
            .checks
            .acquire()
            .await
            .map_err(|_| Error::ShuttingDown)?;
        let attempt = Attempt::new(user, client);
        if let Err(refusal) = self.limiter.begin(&attempt, Instant::now()) {
            tracing::warn!(%who, ?refusal, "sign-in refused: too many failed sign-ins");
            return Err(Error::TooManyAttempts {
                retry_after_secs: refusal.retry_after().as_secs() + 1,
            });
        }
        let (user, password) = (user.to_string(), password.to_string());
        // argon2 keeps a core busy for a while: run it where blocking is allowed, not on the
        // threads that serve every other request.
        let matches = tokio::task::spawn_blocking(move || admin.verify(&user, &password))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        if matches {
            self.limiter.succeeded(&attempt);
            Ok(())
        } else {
            tracing::warn!(%who, "failed sign-in: wrong user name or password");
            Err(Error::WrongPassword)
        }
    }

    /// How much the sign-in limiter holds (see [`RateLimiter::footprint`]).
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }
}

/// Who tried to sign in, as the log shows it: `user="adm\u{202e}in" client=192.0.2.7`. The name
/// is cut to its first [`LOGGED_NAME_CHARS`] characters and escaped, so that a hostile name can
/// neither flood the log nor forge a line of it (a newline, a terminal escape).
struct Who<'a> {
    user: &'a str,
    client: Option<IpAddr>,
}

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("user=\"")?;
        for c in self.user.chars().take(LOGGED_NAME_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        f.write_str("\"")?;
        if self.user.chars().nth(LOGGED_NAME_CHARS).is_some() {
            write!(f, "... ({} bytes)", self.user.len())?;
        }
        match self.client {
            Some(ip) => write!(f, " client={ip}"),
            None => f.write_str(" client=unknown"),
        }
    }
}

/// The client's address, when the server recorded it (see `Banner::run`).
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The client's address as an extractor; `None` when the server does not record addresses (as
/// when another app, such as the monolith, serves this router).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(parts)))
    }
}

/// A signed-in admin, as every admin page but the login page requires. Without one, the
/// request is sent to the login page (which comes back here afterwards); with no admin account
/// configured at all, a page explains how to set one up.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub user: String,
    pub session: Session,
    /// The CSRF token for the forms on the page.
    pub csrf: String,
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Page;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Page> {
        let auth = &state.auth;
        let admin = auth.admin()?;
        let now = OffsetDateTime::now_utc();
        let session = Session::from_headers(&parts.headers, auth.key(), now);
        match session {
            // A session of another user (the account was renamed since) does not count.
            Some(session) if session.user.as_deref() == Some(admin.user()) => Ok(Self {
                user: admin.user().to_string(),
                csrf: csrf::token(auth.key(), &session),
                session,
            }),
            _ => Err(Page(Error::LoginRequired {
                next: return_path(parts),
            })),
        }
    }
}

/// Where to come back to after signing in: the page asked for, if it was a page (a `GET`);
/// after a form was posted, the form's data is gone anyway, so the calendar.
fn return_path(parts: &Parts) -> String {
    let wanted = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let is_page = parts.method == Method::GET && !parts.headers.contains_key(header::ORIGIN);
    if is_page && is_local_admin_path(&wanted) {
        wanted
    } else {
        "/admin".into()
    }
}

/// Whether `path` is a page of ours under `/admin` to which a redirect is safe. Anything else
/// (`//evil.example`, `/\evil.example`, `https://...`) could turn the login page into an
/// "open redirect" that bounces the admin to another site after signing in.
pub fn is_local_admin_path(path: &str) -> bool {
    (path == "/admin" || path.starts_with("/admin/") || path.starts_with("/admin?"))
        && !path.contains("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// The log, written to memory for a test to read.
    #[derive(Clone, Default)]
    struct CapturedLog(Arc<Mutex<Vec<u8>>>);

    impl io::Write for CapturedLog {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl CapturedLog {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
        }
    }

    fn auth() -> Auth {
        let mut config = Config::with_database("sqlite::memory:");
        let account = AdminAccount::from_password("admin".into(), "right").expect("hashable");
        config.admin = Some(account);
        Auth::new(&config)
    }

    /// Item 5 of the hardening issue: 15,000 failed sign-ins used to leave no line in the log.
    #[tokio::test]
    async fn every_failed_sign_in_is_logged_with_a_short_escaped_name_and_the_address() {
        let log = CapturedLog::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let auth = auth();
        let client = Some(IpAddr::from([192, 0, 2, 7]));

        let name = format!("evil\nname\u{202e}{}", "x".repeat(200));
        let result = auth.check_password(&name, "wrong", client).await;
        assert!(matches!(result, Err(Error::WrongPassword)), "{result:?}");
        let result = auth.check_password("admin", "wrong", None).await;
        assert!(matches!(result, Err(Error::WrongPassword)), "{result:?}");

        let text = log.text();
        let failures: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("failed sign-in"))
            .collect();
        assert_eq!(failures.len(), 2, "{text}");
        let first = failures[0];
        assert!(first.contains("WARN"), "{first}");
        // The name escaped (one line, no hidden direction change) and cut to 64 characters.
        let shown = format!("user=\"evil\\nname\\u{{202e}}{}\"", "x".repeat(54));
        assert!(first.contains(&shown), "{first}");
        assert!(
            first.contains("... (212 bytes) client=192.0.2.7"),
            "{first}"
        );
        assert!(first.len() < 300, "{first}");
        assert!(
            failures[1].contains("user=\"admin\" client=unknown"),
            "{text}"
        );
    }

    /// Item 4 of the hardening issue: a 200 KB name is refused at the door, never counted.
    #[tokio::test]
    async fn an_over_long_user_name_is_refused_before_it_is_counted() {
        let auth = auth();
        let name = "x".repeat(200 * 1024);
        let result = auth.check_password(&name, "wrong", None).await;
        match result {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "user");
                assert_eq!(reason, "must be at most 256 bytes, got 204800");
            }
            other => panic!("expected a field error, got {other:?}"),
        }
        assert_eq!(auth.limiter().footprint().entries, 0);
        let longest = "x".repeat(MAX_USER_BYTES);
        let result = auth.check_password(&longest, "wrong", None).await;
        assert!(matches!(result, Err(Error::WrongPassword)), "{result:?}");
    }

    #[test]
    fn only_admin_pages_are_return_paths() {
        for good in [
            "/admin",
            "/admin/banners/3",
            "/admin?view=month&start=2026-06-01",
        ] {
            assert!(is_local_admin_path(good), "{good}");
        }
        for bad in [
            "",
            "/",
            "/administrator",
            "//evil.example/admin",
            "/admin//evil.example",
            "/admin/\\evil.example",
            "https://evil.example/admin",
            "/admin/\nx",
        ] {
            assert!(!is_local_admin_path(bad), "{bad:?}");
        }
    }
}
