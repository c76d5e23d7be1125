//! The other kind of form: a bodyless action (delete, sign out) that carries nothing but its
//! CSRF token, checked before the handler runs.

use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{AdminSession, csrf};
use crate::error::Page;

/// The body of the forms that carry nothing but the CSRF token (delete, sign out).
#[derive(Debug, Deserialize)]
struct TokenOnly {
    csrf: Option<String>,
}

/// A bodyless action (delete, sign out) posted by the signed-in admin, with its CSRF token
/// checked. A body that cannot be read counts as a missing token: 403.
#[derive(Debug)]
pub struct AdminPost(pub AdminSession);

impl FromRequest<AppState> for AdminPost {
    type Rejection = Page;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Page> {
        let (mut parts, body) = request.into_parts();
        let admin = AdminSession::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let token = axum::Form::<TokenOnly>::from_request(request, state)
            .await
            .ok()
            .and_then(|axum::Form(form)| form.csrf);
        csrf::verify(state.auth.key(), &admin.session, token.as_deref())?;
        Ok(Self(admin))
    }
}
