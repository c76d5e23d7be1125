//! Every error of the service, and the one place where each becomes a response.
//!
//! All answers are JSON `{"error": "..."}`. A client mistake gets a 4xx that says what to fix;
//! a failure on our side gets a bare 500 `internal error`, and the details go to the log only,
//! because SQL text and driver messages are of no use to a client and may tell an attacker too
//! much.
//!
//! **400, not 422.** Every request the service cannot take as written (JSON that does not parse,
//! a missing or unknown field, a wrong type, a value that breaks a rule, a bad query parameter or
//! id) answers 400, with a message that names the field. One status for "fix your request" is
//! simpler for clients than telling syntax (400) from content (422) apart, which is why
//! [`Error::Body`] turns axum's 422 into a 400.
//!
//! Database errors are classified here too: [`is_overlap`] recognises the no-overlap rule
//! breaking, whichever database raised it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;

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
            Error::NotFound(_) | Error::NoActiveBanner { .. } => StatusCode::NOT_FOUND,
            Error::Overlap { .. } => StatusCode::CONFLICT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Corrupt(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Error::Database(e) | Error::Unavailable(e) => {
                tracing::error!(error = %e, "database error");
            }
            Error::Corrupt(why) => tracing::error!(%why, "corrupt banner row"),
            _ => {}
        }
        let message = self.to_string();
        match self {
            // The one error with more than a message: the banner in the way, so that a client
            // (or the calendar screen) can show it without another request.
            Error::Overlap { conflicting, .. } => (
                status,
                Json(OverlapBody {
                    error: message,
                    conflicting_banner: conflicting,
                }),
            )
                .into_response(),
            _ => common::http::json_error(status, message),
        }
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
