//! The rules a banner's fields must pass, each naming its field in the error. The API and the
//! admin forms check with the same functions, so both refuse the same input.

use time::OffsetDateTime;

use super::times::parse_time;
use crate::error::Error;

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest image or link URL, in characters.
pub const MAX_URL_CHARS: usize = 2000;
/// The years, in UTC, that a schedule's start and end must fall in. Wide enough for any real
/// campaign; narrow enough to catch a typo (the year 0000, 20260) and the "forever" of 9999
/// that other systems' date handling chokes on.
pub const SCHEDULE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A schedule must last: `starts_at` strictly before `ends_at`.
pub fn check_schedule(starts_at: OffsetDateTime, ends_at: OffsetDateTime) -> Result<(), Error> {
    if starts_at >= ends_at {
        return Err(Error::invalid("starts_at", "must be before ends_at"));
    }
    Ok(())
}

/// The title is stored exactly as sent; it only has to say something, briefly, in characters
/// that show as themselves (see [`check_text`]).
pub fn check_title(title: String) -> Result<String, Error> {
    if title.trim().is_empty() {
        return Err(Error::invalid("title", "must not be empty"));
    }
    check_text("title", &title)?;
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(Error::invalid(
            "title",
            format!("must be at most {MAX_TITLE_CHARS} characters, got {chars}"),
        ));
    }
    Ok(title)
}

/// Free text (a title, a URL) must not hold characters that do not show as themselves but act
/// on what is around them:
/// - control characters (Unicode category Cc: NUL, BEL, newline, escape, ...), which cut
///   strings short in other systems, ring terminals and forge log lines;
/// - the bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069),
///   which reorder the text after them: with U+202E, `sale\u{202e}gnp.exe` shows as
///   `saleexe.png`.
///
/// The direction *marks* (U+200E, U+200F, U+061C) stay allowed: they reorder nothing beyond
/// themselves, and titles that mix right-to-left and left-to-right words need them.
pub fn check_text(field: &'static str, text: &str) -> Result<(), Error> {
    let found = text.chars().enumerate().find(|&(_, c)| acts_on_text(c));
    match found {
        Some((at, c)) => Err(Error::invalid(
            field,
            format!(
                "must not contain control or text-direction characters, found U+{:04X} at \
                 character {}",
                u32::from(c),
                at + 1
            ),
        )),
        None => Ok(()),
    }
}

/// Whether `c` is one of the characters [`check_text`] refuses.
fn acts_on_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A schedule boundary must fall in [`SCHEDULE_YEARS`].
pub fn check_schedule_year(field: &'static str, t: OffsetDateTime) -> Result<(), Error> {
    if SCHEDULE_YEARS.contains(&t.year()) {
        return Ok(());
    }
    Err(Error::invalid(
        field,
        format!(
            "must fall in the years {} to {} (UTC), got the year {:04}",
            SCHEDULE_YEARS.start(),
            SCHEDULE_YEARS.end(),
            t.year()
        ),
    ))
}

/// An absent (or `null`) URL is fine; a present one must be an absolute http(s) URL, because
/// browsers will load and follow it. It is stored as sent, not normalised.
pub fn check_url(field: &'static str, url: Option<String>) -> Result<Option<String>, Error> {
    let Some(raw) = url else {
        return Ok(None);
    };
    let chars = raw.chars().count();
    if chars > MAX_URL_CHARS {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_URL_CHARS} characters, got {chars}"),
        ));
    }
    // The URL parser would quietly drop a tab or a newline, but the URL is stored as sent.
    check_text(field, &raw)?;
    match url::Url::parse(&raw) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            Ok(Some(raw))
        }
        _ => Err(Error::invalid(
            field,
            format!("must be an http or https URL (or null), got {raw:?}"),
        )),
    }
}

/// A schedule boundary, in [`SCHEDULE_YEARS`]. These are stored as whole seconds; refusing a
/// fraction, instead of dropping it, means the banner the client reads back is the one it sent.
pub(super) fn parse_schedule_time(field: &'static str, raw: &str) -> Result<OffsetDateTime, Error> {
    let t = parse_time(field, raw)?;
    if t.nanosecond() != 0 {
        return Err(Error::invalid(
            field,
            format!("must be a whole second, got {raw:?}"),
        ));
    }
    check_schedule_year(field, t)?;
    Ok(t)
}
