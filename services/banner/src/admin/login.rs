//! Signing in and out of the admin pages.
//!
//! 1. `GET /admin/login` starts an anonymous session (a cookie with no user) if there is none,
//!    so that the form can carry a CSRF token: forging a *login* is an attack too (it signs the
//!    victim into the attacker's account).
//! 2. `POST /admin/login` checks the token, then the password (rate-limited, see
//!    `auth::rate_limit`; a user name over `auth::MAX_USER_BYTES` is refused first, next to
//!    its field), and on success replaces the session with a signed-in one with a new
//!    id, then sends the browser on to the page it first asked for.
//! 3. `POST /admin/logout` (a form, with its token: a link would let any page sign you out)
//!    removes the cookie.
//!
//! A wrong user name and a wrong password get the same answer, "wrong user name or password",
//! so that nobody can find out user names by trying.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::SignedCookieJar;
use serde::Deserialize;
use time::OffsetDateTime;

use super::forms::AdminPost;
use super::render;
use crate::AppState;
use crate::auth::session::Session;
use crate::auth::{AdminSession, ClientIp, csrf, is_local_admin_path};
use crate::error::{Error, Page};

/// `templates/login.html`.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    admin: Option<&'a AdminSession>,
    csrf: &'a str,
    user: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    /// What is wrong with the user name itself (too long), shown next to its field.
    user_error: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The posted login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Where to go after signing in: `next` if it is one of our admin pages, else the calendar.
fn next_page(next: Option<&str>) -> &str {
    next.filter(|path| is_local_admin_path(path))
        .unwrap_or("/admin")
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Result<Response, Page> {
    let auth = &state.auth;
    let admin = auth.admin()?;
    let next = query.as_ref().ok().and_then(|Query(q)| q.next.as_deref());
    let next = next_page(next);
    let now = OffsetDateTime::now_utc();
    let (session, fresh) = match Session::from_headers(&headers, auth.key(), now) {
        Some(session) => (session, false),
        None => (Session::anonymous(now).map_err(Error::from)?, true),
    };
    if session.user.as_deref() == Some(admin.user()) {
        return Ok(Redirect::to(next).into_response());
    }
    let token = csrf::token(auth.key(), &session);
    let html = render(&LoginPage {
        admin: None,
        csrf: &token,
        user: "",
        next,
        error: None,
        user_error: None,
    })?;
    if fresh {
        let jar =
            SignedCookieJar::new(auth.key().clone()).add(session.cookie(auth.secure_cookies()));
        Ok((jar, html).into_response())
    } else {
        Ok(html.into_response())
    }
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientIp(client): ClientIp,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, Page> {
    let auth = &state.auth;
    auth.admin()?;
    let now = OffsetDateTime::now_utc();
    // Any session of ours will do (usually the anonymous one from the login page); without one
    // there can be no token to check.
    let session = Session::from_headers(&headers, auth.key(), now).ok_or(Error::Csrf)?;
    let Ok(Form(form)) = form else {
        return Err(Error::Csrf.into());
    };
    csrf::verify(auth.key(), &session, form.csrf.as_deref())?;
    let next = next_page(form.next.as_deref()).to_string();

    match auth
        .check_password(&form.user, &form.password, client)
        .await
    {
        Ok(()) => {
            tracing::info!(user = form.user, "admin signed in");
            let signed_in = Session::signed_in(&form.user, now).map_err(Error::from)?;
            let jar = SignedCookieJar::new(auth.key().clone())
                .add(signed_in.cookie(auth.secure_cookies()));
            Ok((jar, Redirect::to(&next)).into_response())
        }
        // `check_password` has logged the failure; the form comes back with the message.
        Err(error @ (Error::WrongPassword | Error::TooManyAttempts { .. })) => {
            let message = error.to_string();
            let token = csrf::token(auth.key(), &session);
            let html = render(&LoginPage {
                admin: None,
                csrf: &token,
                user: &form.user,
                next: &next,
                error: Some(&message),
                user_error: None,
            })?;
            let mut response = (error.status(), html).into_response();
            if let Error::TooManyAttempts { retry_after_secs } = error {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Ok(response)
        }
        // A name too long to be anyone's: said next to the field, and not echoed back.
        Err(Error::Invalid {
            field: "user",
            reason,
        }) => {
            let token = csrf::token(auth.key(), &session);
            let html = render(&LoginPage {
                admin: None,
                csrf: &token,
                user: "",
                next: &next,
                error: None,
                user_error: Some(&reason),
            })?;
            Ok((StatusCode::BAD_REQUEST, html).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminPost(admin): AdminPost,
) -> Response {
    tracing::info!(user = admin.user, "admin signed out");
    // The jar must hold the request's cookie to send its removal.
    let jar = SignedCookieJar::from_headers(&headers, state.auth.key().clone())
        .remove(Session::removal());
    (jar, Redirect::to("/admin/login")).into_response()
}
