//! Sign-in, and who is visiting: the source of the `end-user` header.
//!
//! Bookinfo's "login" is not security, it is a way to put a name on requests: any password
//! works. The name is kept in a *signed* cookie (an HMAC over the value, with a key only the
//! server knows), so the browser can carry it but not change it; a cookie that fails the check
//! is ignored, as if nobody had signed in. productpage then adds `end-user: <name>` to every
//! call it makes, and Istio's routing and fault-injection rules match on that header
//! (`end-user: jason` sees reviews v2, for example).
//!
//! Routes: `POST /login` (form fields `username`, `passwd`) and `GET /logout`. Both answer 302
//! back to the page the visitor came from, taken from `Referer` but only when it points at this
//! very site (otherwise a crafted link could use us to bounce visitors elsewhere: an "open
//! redirect"); in any other case, back to `/productpage`.

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::SignedCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use serde::Deserialize;

use crate::app::AppState;
use crate::config::SessionSecret;
use crate::error::{Error, MAX_USERNAME_CHARS};

/// The cookie that carries the signed user name (Flask's name for it, as in Bookinfo).
pub const COOKIE: &str = "session";

/// Where login and logout send the browser when `Referer` cannot be used.
const DEFAULT_TARGET: &str = "/productpage";

/// The key that signs session cookies: derived from `SESSION_SECRET`, or random when it is
/// unset (then every restart signs everyone out, which is fine for a laptop and wrong for more
/// than one replica, hence the warning).
pub fn key(secret: Option<&SessionSecret>) -> Key {
    match secret {
        Some(secret) => Key::derive_from(secret.as_bytes()),
        None => {
            tracing::warn!(
                "SESSION_SECRET is not set: using a random key, so sign-ins will not survive \
                 a restart nor work across replicas"
            );
            Key::generate()
        }
    }
}

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", get(logout))
}

/// The sign-in form. Bookinfo ignores the password; so do we.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default, rename = "passwd")]
    _passwd: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Error> {
    let user = form.username.trim();
    if user.is_empty() {
        return Err(Error::MissingUsername);
    }
    if user.chars().count() > MAX_USERNAME_CHARS || user.chars().any(char::is_control) {
        return Err(Error::BadUsername);
    }
    tracing::debug!(user, "signed in");
    // The jar percent-encodes the value, so names with spaces or `;` are safe in a cookie.
    let cookie = Cookie::build((COOKIE, user.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/");
    let jar = SignedCookieJar::new(state.session_key.clone()).add(cookie);
    Ok((jar, back(&headers)).into_response())
}

async fn logout(jar: SignedCookieJar, headers: HeaderMap) -> Response {
    // The removal cookie must name the same path as the one that was set.
    let jar = jar.remove(Cookie::build(COOKIE).path("/"));
    (jar, back(&headers)).into_response()
}

/// A 302 (Bookinfo's status; axum's `Redirect` has only 303, 307 and 308) to where the visitor
/// came from.
fn back(headers: &HeaderMap) -> Response {
    let target = same_site_referer(headers).unwrap_or_else(|| DEFAULT_TARGET.to_string());
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}

/// The path and query of `Referer`, when it is a page of this site: either a relative path, or
/// an absolute http(s) URL whose host is the `Host` this request was sent to.
fn same_site_referer(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let uri: Uri = referer.parse().ok()?;
    if let Some(authority) = uri.authority() {
        let host = headers.get(header::HOST)?.to_str().ok()?;
        let web = matches!(uri.scheme_str(), Some("http" | "https"));
        if !web || !authority.as_str().eq_ignore_ascii_case(host) {
            return None;
        }
    } else if uri.scheme().is_some() {
        return None;
    }
    let target = uri.path_and_query()?.as_str();
    // `//host` and `/\host` are read by browsers as "another site".
    let local = target.starts_with('/') && !target.starts_with("//") && !target.contains('\\');
    local.then(|| target.to_string())
}

/// Who is visiting, as every page and API handler needs it: the signed-in user (if any) and
/// the headers to send to peers on their behalf.
#[derive(Debug)]
pub struct Visitor {
    pub user: Option<String>,
    /// The propagated trace headers (see `common::propagation`), plus `end-user` when signed in.
    pub peer_headers: HeaderMap,
}

impl<S> FromRequestParts<S> for Visitor
where
    S: Send + Sync,
    Key: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let mut peer_headers = common::propagation::forwarded(&parts.headers);
        // Most requests carry no cookie; skip parsing and the signature check for them.
        let user = if parts.headers.contains_key(header::COOKIE) {
            SignedCookieJar::from_headers(&parts.headers, Key::from_ref(state))
                .get(COOKIE)
                .map(|cookie| cookie.value().to_string())
                .filter(|user| !user.is_empty())
        } else {
            None
        };
        if let Some(user) = &user {
            // A signed-in user always wins over an `end-user` header sent by the client.
            match HeaderValue::from_str(user) {
                Ok(value) => {
                    peer_headers.insert(common::propagation::END_USER, value);
                }
                Err(_) => tracing::debug!("user name cannot be sent as a header"),
            }
        }
        Ok(Self { user, peer_headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn referer_on_this_site_is_followed() {
        let h = headers(&[
            ("host", "localhost:9080"),
            ("referer", "http://localhost:9080/productpage?u=test"),
        ]);
        assert_eq!(same_site_referer(&h), Some("/productpage?u=test".into()));
        let h = headers(&[("referer", "/productpage")]);
        assert_eq!(same_site_referer(&h), Some("/productpage".into()));
    }

    #[test]
    fn referer_elsewhere_is_not_followed() {
        for referer in [
            "https://evil.example/productpage",
            "http://localhost:9080.evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
        ] {
            let mut h = headers(&[("host", "localhost:9080")]);
            h.insert(
                header::REFERER,
                HeaderValue::from_str(referer).expect("valid header"),
            );
            assert_eq!(same_site_referer(&h), None, "{referer}");
        }
    }
}
