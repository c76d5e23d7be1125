//! Admin sessions, kept in a signed cookie.
//!
//! The server stores no sessions: the cookie *is* the session. Its value is
//! `v1|<session id>|<expiry, unix seconds>|<user name in hex>` (hex keeps any name within the
//! characters a cookie may hold), and the cookie jar signs it with an HMAC
//! under the service's key (`BANNER_SESSION_SECRET`), so a browser can carry it but not forge or
//! alter it: a cookie whose signature does not match is ignored, as if there were none.
//!
//! - **Expiry inside the signed value.** A cookie's own `Max-Age` is only a request to the
//!   browser; a copied cookie would live forever. The expiry under the signature is the one the
//!   server believes: [`LIFETIME`] after sign-in.
//! - **Anonymous sessions.** The login form needs a CSRF token before anyone has signed in, and
//!   a token needs a session (see `csrf`), so visiting the login page starts a session with no
//!   user. Signing in replaces it with a new one and a *new id*: an id planted in a victim's
//!   browser before sign-in ("session fixation") is worthless afterwards.
//! - **The price of statelessness.** Signing out removes the cookie from this browser, but a
//!   stolen copy stays valid until it expires. Changing `BANNER_SESSION_SECRET` (or restarting
//!   without one) ends every session at once.
//!
//! The cookie is `HttpOnly` (no script can read it), `SameSite=Strict` (the browser never sends
//! it with a request started by another site) and limited to `Path=/admin`, the only place it is
//! used: the public API and images never see it. It is marked `Secure` when
//! `BANNER_PUBLIC_URL` is an https address.

use axum::http::HeaderMap;
use axum_extra::extract::SignedCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use time::{Duration, OffsetDateTime};

/// The name of the session cookie.
pub const COOKIE: &str = "banner_admin";
/// The cookie's path: the admin pages, and nothing else.
pub const PATH: &str = "/admin";
/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::hours(8);
/// The format tag at the start of the value, so that a later format can tell old cookies apart.
const VERSION: &str = "v1";

/// A session read from, or about to be written to, the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// 32 hex digits, random; the CSRF token is derived from it.
    pub id: String,
    /// The signed-in user, or `None` before sign-in.
    pub user: Option<String>,
    /// When the session ends, unix seconds.
    pub expires_at: i64,
}

impl Session {
    /// A session with nobody signed in yet, for the login form.
    pub fn anonymous(now: OffsetDateTime) -> Result<Self, getrandom::Error> {
        Self::start(None, now)
    }

    /// A new session for `user`, with a new id.
    pub fn signed_in(user: &str, now: OffsetDateTime) -> Result<Self, getrandom::Error> {
        Self::start(Some(user.to_string()), now)
    }

    fn start(user: Option<String>, now: OffsetDateTime) -> Result<Self, getrandom::Error> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id)?;
        Ok(Self {
            id: hex(&id),
            user,
            expires_at: (now + LIFETIME).unix_timestamp(),
        })
    }

    /// The session in the request's cookies: signed by us, well-formed and not expired.
    pub fn from_headers(headers: &HeaderMap, key: &Key, now: OffsetDateTime) -> Option<Self> {
        let jar = SignedCookieJar::from_headers(headers, key.clone());
        Self::decode(jar.get(COOKIE)?.value(), now)
    }

    /// The cookie that carries this session.
    pub fn cookie(&self, secure: bool) -> Cookie<'static> {
        let user = hex(self.user.as_deref().unwrap_or_default().as_bytes());
        let value = format!("{VERSION}|{}|{}|{user}", self.id, self.expires_at);
        Cookie::build((COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path(PATH)
            .secure(secure)
            .max_age(LIFETIME)
            .build()
    }

    /// The cookie that removes the session from the browser (same name and path).
    pub fn removal() -> Cookie<'static> {
        Cookie::build(COOKIE).path(PATH).build()
    }

    fn decode(value: &str, now: OffsetDateTime) -> Option<Self> {
        let mut parts = value.split('|');
        let (version, id, expires_at, user) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let expires_at: i64 = expires_at.parse().ok()?;
        let user = String::from_utf8(unhex(user)?).ok()?;
        let well_formed =
            version == VERSION && id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed || expires_at <= now.unix_timestamp() {
            return None;
        }
        Some(Self {
            id: id.to_string(),
            user: (!user.is_empty()).then(|| user.to_string()),
            expires_at,
        })
    }
}

/// Lower-case hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a string of hex digits; `None` if it is not one.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session as the browser would send it back: through `Set-Cookie` and `Cookie`.
    fn round_trip(session: &Session, now: OffsetDateTime) -> Option<Session> {
        use axum::response::IntoResponse;
        let key = Key::generate();
        let response = SignedCookieJar::new(key.clone())
            .add(session.cookie(false))
            .into_response();
        let mut headers = HeaderMap::new();
        for set_cookie in response.headers().get_all(axum::http::header::SET_COOKIE) {
            let text = set_cookie.to_str().expect("ASCII");
            let pair = text.split(';').next().expect("a name=value pair");
            headers.append(
                axum::http::header::COOKIE,
                pair.parse().expect("a header value"),
            );
        }
        Session::from_headers(&headers, &key, now)
    }

    #[test]
    fn a_session_survives_the_cookie_until_it_expires() {
        let now = OffsetDateTime::now_utc();
        let session = Session::signed_in("ad|min; x=\"é\"", now).expect("random");
        assert_eq!(round_trip(&session, now).as_ref(), Some(&session));
        assert_eq!(round_trip(&session, now + LIFETIME), None);
        let anonymous = Session::anonymous(now).expect("random");
        assert_eq!(round_trip(&anonymous, now).and_then(|s| s.user), None);
    }

    #[test]
    fn hex_round_trips_and_refuses_non_hex() {
        assert_eq!(unhex(&hex(b"a|b \x00\xff")), Some(b"a|b \x00\xff".to_vec()));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }

    #[test]
    fn every_session_gets_a_new_id() {
        let now = OffsetDateTime::now_utc();
        let a = Session::signed_in("admin", now).expect("random");
        let b = Session::signed_in("admin", now).expect("random");
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn an_unsigned_or_altered_cookie_is_ignored() {
        let now = OffsetDateTime::now_utc();
        let key = Key::generate();
        let mut headers = HeaderMap::new();
        let forged = format!("{COOKIE}=v1|{}|{}|admin", "a".repeat(32), i64::MAX);
        headers.insert(
            axum::http::header::COOKIE,
            forged.parse().expect("a header value"),
        );
        assert_eq!(Session::from_headers(&headers, &key, now), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_the_admin_pages() {
        let now = OffsetDateTime::now_utc();
        let cookie = Session::anonymous(now).expect("random").cookie(true);
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        assert_eq!(cookie.path(), Some("/admin"));
        assert_eq!(cookie.secure(), Some(true));
    }
}
