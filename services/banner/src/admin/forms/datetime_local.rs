//! The times of `<input type="datetime-local">`: `2026-06-01T09:30`, with no time zone. The
//! form says they are UTC, and they are read and written as UTC.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::Error;
use crate::model::check_schedule_year;

/// `datetime-local` without and with seconds.
const MINUTES: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");
const SECONDS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// A time as a `datetime-local` value: `2026-06-01T09:30`, or with seconds when it has some.
pub(super) fn local(t: OffsetDateTime) -> String {
    let format = if t.second() == 0 { MINUTES } else { SECONDS };
    t.format(format).unwrap_or_default()
}

/// A `datetime-local` value, read as UTC.
pub(super) fn parse_local(field: &'static str, raw: &str) -> Result<OffsetDateTime, Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    let t = PrimitiveDateTime::parse(raw, MINUTES)
        .or_else(|_| PrimitiveDateTime::parse(raw, SECONDS))
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            Error::invalid(
                field,
                format!("must be a date and time such as 2026-06-01T09:30, got {raw:?}"),
            )
        })?;
    check_schedule_year(field, t)?;
    Ok(t)
}
