//! Every error of the service, and the one place where each becomes a response.
//!
//! The JSON API answers `{"error": "..."}`. A client mistake gets a 4xx that says what to fix;
//! a failure on our side gets a bare 500 `internal error`, and the details go to the log only,
//! because SQL text and driver messages are of no use to a client and may tell an attacker too
//! much. The admin pages answer the same errors as an HTML page, through [`Page`]: same status,
//! same message, shown to a person instead of a program.
//!
//! **400, not 422.** Every request the service cannot take as written (JSON that does not parse,
//! a missing or unknown field, a wrong type, a value that breaks a rule, a bad query parameter or
//! id) answers 400, with a message that names the field. One status for "fix your request" is
//! simpler for clients than telling syntax (400) from content (422) apart, which is why
//! [`Error::Body`] turns axum's 422 into a 400. (The admin forms are different: a form with
//! mistakes comes back as the same form with the mistakes marked, see `admin::forms`.)
//!
//! Database errors are classified here too: [`is_overlap`] recognises the no-overlap rule
//! breaking, whichever database raised it.

use askama::Template;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;
use time::OffsetDateTime;

use crate::auth::AdminSession;
use crate::images::describe_size;
use crate::model::{Banner, Platform, Slot, format_time};

/// The name of the no-overlap rule in both databases: PostgreSQL's exclusion constraint, and
/// the message SQLite's triggers raise.
pub const OVERLAP_RULE: &str = "banners_no_overlap";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: a value breaks a rule. `field` names the field or parameter at fault, so that a form
    /// can show the message next to it.
    #[error("{field} {reason}")]
    Invalid { field: &'static str, reason: String },

    /// 400 (415 when the `Content-Type` is not JSON): the body is not JSON, or not the JSON of a
    /// banner (a missing, unknown or mistyped field; the message names it).
    #[error("{}", .0.body_text())]
    Body(#[from] JsonRejection),

    /// 404: no banner has this id.
    #[error("banner {0} does not exist")]
    NotFound(i64),

    /// 404: nothing is scheduled in this slot at this time.
    #[error("no banner is active in {platform} slot {slot} at {}", format_time(*.at))]
    NoActiveBanner {
        platform: Platform,
        slot: Slot,
        at: OffsetDateTime,
    },

    /// 409: the schedule overlaps another banner's in the same platform slot. `conflicting` is
    /// that banner, or `None` when it was deleted before we could look it up.
    #[error("{}", overlap_message(*.platform, *.slot, .conflicting.as_deref()))]
    Overlap {
        platform: Platform,
        slot: Slot,
        conflicting: Option<Box<Banner>>,
    },

    /// 401, with `WWW-Authenticate: Basic`: a JSON write without credentials.
    #[error(
        "this request needs the admin account: send its user name and password with HTTP Basic \
         authentication (curl -u admin:PASSWORD)"
    )]
    MissingCredentials,

    /// 401 (with `WWW-Authenticate: Basic` on the API): the user name or the password is wrong.
    /// Which of the two is not said, so that nobody can find out user names by trying.
    #[error("wrong user name or password")]
    WrongPassword,

    /// 429, with `Retry-After`: too many wrong passwords from this client for this user name.
    #[error("too many failed sign-ins: try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: u64 },

    /// 503: no admin account is configured, so nobody can sign in or write.
    #[error(
        "no admin account is configured: set BANNER_ADMIN_PASSWORD_FILE (a file holding the \
         password) or BANNER_ADMIN_PASSWORD_HASH (its argon2 hash) and restart the service"
    )]
    NoAdminAccount,

    /// 403: a form was posted without the CSRF token of the session (see `auth::csrf`).
    #[error(
        "this form cannot be accepted: its security token is missing or out of date (was the \
         page open across a sign-in or a restart?). Go back, reload the page, and send it again"
    )]
    Csrf,

    /// An admin page was asked for without a session: a redirect (303) to the login page,
    /// which returns to `next` afterwards. (401 if it ever reached the JSON side.)
    #[error("please sign in")]
    LoginRequired { next: String },

    /// 413: the request body is larger than any upload may be.
    #[error("the upload is too large: an image may be at most {}", describe_size(*.limit))]
    TooLarge { limit: usize },

    /// 400: a form body that cannot be read at all (not the form's fields being wrong).
    #[error("the form cannot be read: {0}")]
    BadForm(String),

    /// 404: no image has this id.
    #[error("image {0} does not exist")]
    ImageNotFound(i64),

    /// 500: the operating system gave no random bytes for a session id.
    #[error("internal error")]
    NoRandomness(#[from] getrandom::Error),

    /// 503: the service is stopping and could not finish the request.
    #[error("the service is shutting down")]
    ShuttingDown,

    /// 500: a page template failed to render.
    #[error("internal error")]
    Render(#[from] askama::Error),

    /// 503: the database does not answer, so the service is not healthy.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),

    /// 500: any other database failure.
    #[error("internal error")]
    Database(#[from] sqlx::Error),

    /// 500: a stored row breaks the rules (edited by hand?). The string says how, for the log.
    #[error("internal error")]
    Corrupt(String),
}

impl Error {
    /// A rule broken by `field`; the message reads "`field` `reason`".
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::Body(JsonRejection::JsonDataError(_)) => StatusCode::BAD_REQUEST,
            Error::Body(rejection) => rejection.status(),
            Error::NotFound(_) | Error::NoActiveBanner { .. } | Error::ImageNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            Error::Overlap { .. } => StatusCode::CONFLICT,
            Error::MissingCredentials | Error::WrongPassword | Error::LoginRequired { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Error::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Csrf => StatusCode::FORBIDDEN,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::BadForm(_) => StatusCode::BAD_REQUEST,
            Error::NoAdminAccount | Error::ShuttingDown | Error::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Database(_) | Error::Corrupt(_) | Error::Render(_) | Error::NoRandomness(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Logs what the client will not be told.
    fn log(&self) {
        match self {
            Error::Database(e) | Error::Unavailable(e) => {
                tracing::error!(error = %e, "database error");
            }
            Error::Corrupt(why) => tracing::error!(%why, "corrupt banner row"),
            Error::Render(e) => tracing::error!(error = %e, "template failed"),
            Error::NoRandomness(e) => tracing::error!(error = %e, "no random bytes"),
            _ => {}
        }
    }

    /// The headers that come with the status: the challenge of a 401, the wait of a 429.
    fn add_headers(&self, response: &mut Response, api: bool) {
        let headers = response.headers_mut();
        match self {
            Error::MissingCredentials | Error::WrongPassword if api => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="banner", charset="UTF-8""#),
                );
            }
            Error::TooManyAttempts { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        self.log();
        let message = self.to_string();
        let mut response = self.json_body(status, message);
        self.add_headers(&mut response, true);
        response
    }
}

impl Error {
    fn json_body(&self, status: StatusCode, message: String) -> Response {
        match self {
            // The one error with more than a message: the banner in the way, so that a client
            // (or the calendar screen) can show it without another request.
            Error::Overlap { conflicting, .. } => (
                status,
                Json(OverlapBody {
                    error: message,
                    conflicting_banner: conflicting.clone(),
                }),
            )
                .into_response(),
            _ => common::http::json_error(status, message),
        }
    }
}

/// An error on an admin page: the same error, answered as HTML for a person. A missing session
/// becomes a redirect to the login page instead.
#[derive(Debug)]
pub struct Page(pub Error);

impl From<Error> for Page {
    fn from(error: Error) -> Self {
        Page(error)
    }
}

/// `templates/message.html`: a heading, a sentence, and maybe a block of commands to run.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// Always `None`: an error page shows no session controls.
    pub admin: Option<&'a AdminSession>,
    pub heading: &'a str,
    pub text: &'a str,
    pub hint: Option<&'a str>,
}

/// What to do when no admin account is configured, on the page that says so.
const NO_ACCOUNT_HINT: &str = "\
# the password in a file (sailkit's launcher writes data/admin-password for you):
printf '%s' 'choose-a-long-password' > admin-password && chmod 600 admin-password
BANNER_ADMIN_PASSWORD_FILE=$PWD/admin-password cargo run -p banner

# or its argon2 hash (Debian/Ubuntu: apt install argon2):
printf '%s' 'choose-a-long-password' | argon2 \"$(openssl rand -hex 16)\" -id -e
BANNER_ADMIN_PASSWORD_HASH='$argon2id$v=19$m=...' cargo run -p banner";

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let Page(error) = self;
        if let Error::LoginRequired { next } = &error {
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            return Redirect::to(&format!("/admin/login?next={next}")).into_response();
        }
        error.log();
        let status = error.status();
        let text = error.to_string();
        let page = MessagePage {
            admin: None,
            heading: status.canonical_reason().unwrap_or("Error"),
            text: &text,
            hint: matches!(error, Error::NoAdminAccount).then_some(NO_ACCOUNT_HINT),
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                    .into_response();
            }
        };
        error.add_headers(&mut response, false);
        response
    }
}

/// The body of a 409: `{"error": "...", "conflicting_banner": {...} | null}`.
#[derive(Serialize)]
struct OverlapBody {
    error: String,
    conflicting_banner: Option<Box<Banner>>,
}

fn overlap_message(platform: Platform, slot: Slot, conflicting: Option<&Banner>) -> String {
    match conflicting {
        Some(b) => format!(
            "the schedule overlaps banner {} {:?} in {} slot {} ({} to {})",
            b.id,
            b.title,
            b.platform,
            b.slot,
            format_time(b.starts_at),
            format_time(b.ends_at)
        ),
        None => format!("the schedule overlaps another banner in {platform} slot {slot}"),
    }
}

/// Whether `e` is the database refusing a write that would break the no-overlap rule.
///
/// - PostgreSQL: SQLSTATE 23P01 (`exclusion_violation`) from the `banners_no_overlap`
///   constraint.
/// - SQLite: the triggers' `RAISE(ABORT, 'banners_no_overlap')`, whose text is the message.
pub fn is_overlap(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    let postgres = db.code().as_deref() == Some("23P01") && db.constraint() == Some(OVERLAP_RULE);
    let sqlite = db.message() == OVERLAP_RULE;
    postgres || sqlite
}

/// Whether `e` is a failure that the same statement, tried again, may not meet.
///
/// Two PostgreSQL transactions inserting overlapping banners at the same moment each find the
/// other's uncommitted row and wait for it to finish: a deadlock. PostgreSQL breaks it by
/// failing one of them with SQLSTATE 40P01; tried again, that one sees the other's row, now
/// committed, and gets the ordinary overlap error. 40001 is the same idea for serialization
/// failures.
pub fn is_transient(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlap_whose_banner_vanished_is_still_a_409_with_a_message() {
        let slot = Slot::try_from(2).expect("in range");
        let err = Error::Overlap {
            platform: Platform::Mobile,
            slot,
            conflicting: None,
        };
        assert_eq!(err.status(), StatusCode::CONFLICT);
        assert_eq!(
            err.to_string(),
            "the schedule overlaps another banner in mobile slot 2"
        );
    }

    #[test]
    fn database_details_are_not_shown_to_clients() {
        let err = Error::Database(sqlx::Error::PoolTimedOut);
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.to_string(), "internal error");
    }
}
