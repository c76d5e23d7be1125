//! The credentials of the JSON write API: `Authorization: Basic <base64 of user:password>`.
//!
//! HTTP Basic authentication is the simplest scheme there is, and `curl -u admin:PASSWORD`
//! speaks it. It sends the password with every request, readable by anyone on the path, so
//! outside a laptop it belongs behind TLS (which a service mesh adds between services).
//!
//! A request without credentials gets 401 with `WWW-Authenticate: Basic realm="banner"`, the
//! standard way to say "this needs a user name and password". Session cookies are not accepted
//! here, even valid ones: see the `auth` module for why.
//!
//! The password is checked by `Auth::check_password`, as on the login form: the same sign-in
//! limit counts both doors together, a user name over `auth::MAX_USER_BYTES` is a 400 naming
//! `user`, and every failure is logged.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::client_ip;
use crate::AppState;
use crate::error::Error;

/// The admin, authenticated by `Authorization: Basic`. Holds the user name, for the audit log.
#[derive(Debug, Clone)]
pub struct ApiAdmin(pub String);

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        // No account at all is a setup problem (503), not the client's fault (401).
        state.auth.admin()?;
        let (user, password) = credentials(parts).ok_or(Error::MissingCredentials)?;
        state
            .auth
            .check_password(&user, &password, client_ip(parts))
            .await?;
        Ok(Self(user))
    }
}

/// The user name and password of an `Authorization: Basic` header, if there is a well-formed
/// one. The scheme name is case-insensitive (RFC 9110); the user name ends at the first `:`.
fn credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(authorization: &str) -> Parts {
        let (parts, ()) = Request::builder()
            .header(header::AUTHORIZATION, authorization)
            .body(())
            .expect("a request")
            .into_parts();
        parts
    }

    #[test]
    fn basic_credentials_are_read() {
        let encoded = STANDARD.encode("admin:pa:ss word");
        assert_eq!(
            credentials(&parts(&format!("Basic {encoded}"))),
            Some(("admin".into(), "pa:ss word".into()))
        );
        assert_eq!(
            credentials(&parts(&format!("basic  {encoded}"))),
            Some(("admin".into(), "pa:ss word".into()))
        );
    }

    #[test]
    fn other_schemes_and_garbage_are_not_credentials() {
        let no_colon = format!("Basic {}", STANDARD.encode("admin"));
        for value in ["Bearer abc", "Basic !!!", "Basic", no_colon.as_str()] {
            assert_eq!(credentials(&parts(value)), None, "{value}");
        }
    }
}
