//! Times in and out: RFC 3339 for the API (always UTC), minutes for people.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Error;

/// An RFC 3339 time, such as `2026-06-01T00:00:00Z` or `2026-06-01T02:00:00+02:00`, in UTC.
pub fn parse_time(field: &'static str, raw: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| {
            Error::invalid(
                field,
                format!("must be an RFC 3339 time such as 2026-06-01T00:00:00Z, got {raw:?}"),
            )
        })
}

/// `2026-06-01 00:00 to 2026-07-01 00:00 UTC`: a schedule for people.
pub fn format_schedule(starts_at: OffsetDateTime, ends_at: OffsetDateTime) -> String {
    format!(
        "{} to {} UTC",
        format_minutes(starts_at),
        format_minutes(ends_at)
    )
}

/// `2026-06-01 09:30`: a time to the minute, for people (UTC, as every time in the service).
pub fn format_minutes(t: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// `t` as RFC 3339, the format of every time in the API. Times here are always in UTC with a
/// four-digit year, which RFC 3339 can always express, so the fallback never shows in practice.
pub fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| format!("unix time {}", t.unix_timestamp()))
}
