//! Protection against cross-site request forgery (CSRF) for every admin form.
//!
//! **The attack.** A page on another site can make the admin's browser post a form to
//! `/admin/banners/3/delete`; the browser would attach the session cookie, and the banner would
//! be gone without the admin ever seeing our page. The defence has two layers:
//!
//! 1. The session cookie is `SameSite=Strict`, so modern browsers do not send it with a request
//!    that another site started (see `session`).
//! 2. Every form carries a hidden field, [`FIELD`], with a token that only our own pages can
//!    know, and every `POST` is refused (403) unless the token matches the session. Another site
//!    can send the cookie (in an old browser) but cannot read our page to learn the token.
//!
//! **The token** is `HMAC-SHA256(key, "csrf|" + session id)`, in hex: tied to one session, so
//! it changes at sign-in, and computable from the cookie alone, so the server stores nothing.
//! The session id itself is not put in the page: the token reveals nothing about the cookie.
//! The comparison ([`Mac::verify_slice`]) takes the same time however many leading characters
//! of a guess are right.
//!
//! The JSON API does not use cookies at all (it takes HTTP Basic credentials, which a browser
//! never attaches on another site's behalf), so it needs no token.

use axum_extra::extract::cookie::Key;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::session::{Session, hex, unhex};
use crate::error::Error;

/// The name of the hidden form field.
pub const FIELD: &str = "csrf";

type HmacSha256 = Hmac<Sha256>;

/// The token of `session`, for the hidden field of the forms on a page.
pub fn token(key: &Key, session: &Session) -> String {
    hex(&mac(key, session).finalize().into_bytes())
}

/// `Ok` when `sent` is `session`'s token; [`Error::Csrf`] otherwise (also when it is missing).
pub fn verify(key: &Key, session: &Session, sent: Option<&str>) -> Result<(), Error> {
    let sent = sent.and_then(unhex).ok_or(Error::Csrf)?;
    mac(key, session)
        .verify_slice(&sent)
        .map_err(|_| Error::Csrf)
}

fn mac(key: &Key, session: &Session) -> HmacSha256 {
    // HMAC accepts a key of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key.signing()).expect("HMAC takes any key length");
    mac.update(b"csrf|");
    mac.update(session.id.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;

    #[test]
    fn the_token_of_the_session_passes_and_nothing_else_does() {
        let key = Key::generate();
        let now = OffsetDateTime::now_utc();
        let session = Session::signed_in("admin", now).expect("random");
        let other = Session::signed_in("admin", now).expect("random");
        let good = token(&key, &session);
        assert!(verify(&key, &session, Some(&good)).is_ok());
        assert!(verify(&key, &session, None).is_err());
        assert!(verify(&key, &session, Some("")).is_err());
        assert!(verify(&key, &session, Some(&good[1..])).is_err());
        assert!(verify(&key, &session, Some(&token(&key, &other))).is_err());
        assert!(verify(&Key::generate(), &session, Some(&good)).is_err());
        assert!(verify(&key, &session, Some(&session.id)).is_err());
    }
}
