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
//! - [`rate_limit`]: at most five wrong passwords per user and client per 15 minutes.
//! - [`basic`]: the `Authorization: Basic` extractor of the JSON API.
//! - [`AdminSession`] (here): the extractor of the admin pages.

pub mod basic;
pub mod csrf;
pub mod password;
pub mod rate_limit;
pub mod session;

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
            limiter: RateLimiter::default(),
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

    /// Checks `user` and `password` against the admin account, counting failures per user and
    /// `client`. [`Error::WrongPassword`] says nothing about which of the two was wrong.
    pub async fn check_password(
        &self,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let admin = self.admin()?.clone();
        // Wait for a turn first, then look at the count: at most CONCURRENT_CHECKS guesses are
        // in flight past the check, so the limit can be exceeded by that many at the very most.
        let _turn = self
            .checks
            .acquire()
            .await
            .map_err(|_| Error::ShuttingDown)?;
        let attempt = Attempt {
            user: user.to_string(),
            client,
        };
        if let Err(wait) = self.limiter.check(&attempt, Instant::now()) {
            return Err(Error::TooManyAttempts {
                retry_after_secs: wait.as_secs() + 1,
            });
        }
        let (user, password) = (user.to_string(), password.to_string());
        // argon2 keeps a core busy for a while: run it where blocking is allowed, not on the
        // threads that serve every other request.
        let matches = tokio::task::spawn_blocking(move || admin.verify(&user, &password))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        if matches {
            self.limiter.forget(&attempt);
            Ok(())
        } else {
            self.limiter.record_failure(&attempt, Instant::now());
            Err(Error::WrongPassword)
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
    use super::*;

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
