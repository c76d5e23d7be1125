//! The domain: what a banner is, and the checks a banner must pass before it is stored.
//!
//! A banner is shown in one *slot* of one *platform* (the six banner places of the mobile or the
//! desktop site) during a half-open time interval `[starts_at, ends_at)`: it shows from
//! `starts_at` on and has gone at `ends_at`, so a banner ending at noon and the next one starting
//! at noon share no instant. Two banners of the same platform slot never overlap; the database
//! enforces that (see `store` and the migrations), because only it can do so for concurrent
//! writers.
//!
//! Nothing here knows about HTTP or SQL. A request body arrives as an unchecked
//! [`BannerRequest`]; [`BannerRequest::validate`] turns it into [`BannerData`], which the store
//! accepts. Parsing into a checked type, instead of checking and passing the raw value on, means
//! an unchecked banner cannot reach the database by accident.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Error;

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest image or link URL, in characters.
pub const MAX_URL_CHARS: usize = 2000;
/// The slots of each platform, numbered from 1.
pub const SLOTS: std::ops::RangeInclusive<u8> = 1..=6;
/// The years, in UTC, that a schedule's start and end must fall in. Wide enough for any real
/// campaign; narrow enough to catch a typo (the year 0000, 20260) and the "forever" of 9999
/// that other systems' date handling chokes on.
pub const SCHEDULE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Which site a banner slot belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Mobile,
    Desktop,
}

impl Platform {
    /// The name used in JSON, in query strings and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Mobile => "mobile",
            Platform::Desktop => "desktop",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(raw: &str) -> Result<Self, Error> {
        match raw {
            "mobile" => Ok(Platform::Mobile),
            "desktop" => Ok(Platform::Desktop),
            _ => Err(Error::invalid(
                "platform",
                format!("must be mobile or desktop, got {raw:?}"),
            )),
        }
    }
}

/// A slot number, 1 to 6. Holding a `Slot` proves the number is in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Slot(u8);

impl Slot {
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Slot {
    type Error = Error;

    fn try_from(n: i64) -> Result<Self, Error> {
        u8::try_from(n)
            .ok()
            .filter(|n| SLOTS.contains(n))
            .map(Slot)
            .ok_or_else(|| {
                Error::invalid(
                    "slot",
                    format!(
                        "must be between {} and {}, got {n}",
                        SLOTS.start(),
                        SLOTS.end()
                    ),
                )
            })
    }
}

impl FromStr for Slot {
    type Err = Error;

    /// A slot from a query string, where it arrives as text.
    fn from_str(raw: &str) -> Result<Self, Error> {
        let n: i64 = raw.parse().map_err(|_| {
            Error::invalid(
                "slot",
                format!(
                    "must be a whole number between {} and {}, got {raw:?}",
                    SLOTS.start(),
                    SLOTS.end()
                ),
            )
        })?;
        Slot::try_from(n)
    }
}

impl From<Slot> for i64 {
    fn from(slot: Slot) -> i64 {
        i64::from(slot.0)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored banner: the JSON object of the API. productpage reads this shape, so its field
/// names and formats are fixed; fields may be added (`created_by` and `updated_by` were), never
/// renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banner {
    pub id: i64,
    pub title: String,
    pub platform: Platform,
    pub slot: Slot,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub image_url: Option<String>,
    pub link_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The admin who created it; `null` for banners created before accounts existed.
    pub created_by: Option<String>,
    /// The admin who changed it last (the creator until someone edits it).
    pub updated_by: Option<String>,
}

impl Banner {
    /// `2026-06-01 00:00 to 2026-07-01 00:00 UTC`, for people.
    pub fn schedule(&self) -> String {
        format_schedule(self.starts_at, self.ends_at)
    }
}

/// The body of `POST /api/v1/banners` and `PUT /api/v1/banners/{id}`, as sent: nothing checked
/// yet beyond the JSON types. Unknown fields are refused, so a misspelt `link_ur1` is an error
/// instead of a silently missing link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerRequest {
    pub title: String,
    pub platform: String,
    pub slot: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub image_url: Option<String>,
    pub link_url: Option<String>,
}

/// Everything about a banner that its author chooses, checked: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerData {
    pub title: String,
    pub platform: Platform,
    pub slot: Slot,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub image_url: Option<String>,
    pub link_url: Option<String>,
}

impl BannerRequest {
    /// Checks every field, in the order they are listed, and reports the first one at fault.
    pub fn validate(self) -> Result<BannerData, Error> {
        let title = check_title(self.title)?;
        let platform = self.platform.parse()?;
        let slot = Slot::try_from(self.slot)?;
        let starts_at = parse_schedule_time("starts_at", &self.starts_at)?;
        let ends_at = parse_schedule_time("ends_at", &self.ends_at)?;
        check_schedule(starts_at, ends_at)?;
        Ok(BannerData {
            title,
            platform,
            slot,
            starts_at,
            ends_at,
            image_url: check_url("image_url", self.image_url)?,
            link_url: check_url("link_url", self.link_url)?,
        })
    }
}

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

/// A schedule boundary, in [`SCHEDULE_YEARS`]. These are stored as whole seconds; refusing a
/// fraction, instead of dropping it, means the banner the client reads back is the one it sent.
fn parse_schedule_time(field: &'static str, raw: &str) -> Result<OffsetDateTime, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> BannerRequest {
        BannerRequest {
            title: "Summer sale".into(),
            platform: "desktop".into(),
            slot: 1,
            starts_at: "2026-06-01T00:00:00Z".into(),
            ends_at: "2026-07-01T00:00:00Z".into(),
            image_url: Some("https://cdn.example.com/summer.png".into()),
            link_url: None,
        }
    }

    fn message(request: BannerRequest) -> String {
        request
            .validate()
            .expect_err("the request is invalid")
            .to_string()
    }

    #[test]
    fn a_good_request_passes_and_times_are_utc() {
        let mut r = request();
        r.ends_at = "2026-07-01T02:00:00+02:00".into();
        let data = r.validate().expect("valid");
        assert_eq!(format_time(data.ends_at), "2026-07-01T00:00:00Z");
        assert_eq!(data.slot.get(), 1);
    }

    /// Breaks one rule in a good request.
    type Breaker = fn(&mut BannerRequest);

    #[test]
    fn each_rule_names_its_field() {
        let cases: Vec<(Breaker, &str)> = vec![
            (|r| r.title = " \t".into(), "title must not be empty"),
            (|r| r.title = "x".repeat(201), "title must be at most 200"),
            (
                |r| r.platform = "tablet".into(),
                "platform must be mobile or desktop",
            ),
            (|r| r.slot = 0, "slot must be between 1 and 6, got 0"),
            (|r| r.slot = 7, "slot must be between 1 and 6, got 7"),
            (
                |r| r.starts_at = "tomorrow".into(),
                "starts_at must be an RFC 3339",
            ),
            (
                |r| r.ends_at = "2026-07-01".into(),
                "ends_at must be an RFC 3339",
            ),
            (
                |r| r.ends_at = r.starts_at.clone(),
                "starts_at must be before ends_at",
            ),
            (
                |r| r.starts_at = "2026-06-01T00:00:00.5Z".into(),
                "starts_at must be a whole second",
            ),
            (
                |r| r.image_url = Some("ftp://x/y.png".into()),
                "image_url must be an http or https URL",
            ),
            (
                |r| r.link_url = Some("/relative".into()),
                "link_url must be an http or https URL",
            ),
            (
                |r| r.link_url = Some(format!("https://e.com/{}", "a".repeat(2000))),
                "link_url must be at most 2000",
            ),
            (
                |r| r.title = "Sale\0".into(),
                "title must not contain control or text-direction characters, found U+0000 at \
                 character 5",
            ),
            (
                |r| r.title = "\u{7}Sale".into(),
                "title must not contain control or text-direction characters, found U+0007",
            ),
            (
                |r| r.title = "sale\u{202e}gnp.exe".into(),
                "title must not contain control or text-direction characters, found U+202E",
            ),
            (
                |r| r.title = "\u{2067}sale".into(),
                "title must not contain control or text-direction characters, found U+2067",
            ),
            (
                |r| r.link_url = Some("https://e.com/\npath".into()),
                "link_url must not contain control or text-direction characters, found U+000A",
            ),
            (
                |r| r.starts_at = "0000-01-01T00:00:00Z".into(),
                "starts_at must fall in the years 2000 to 2100 (UTC), got the year 0000",
            ),
            (
                |r| r.ends_at = "9999-01-01T00:00:00Z".into(),
                "ends_at must fall in the years 2000 to 2100 (UTC), got the year 9999",
            ),
            (
                // In UTC, this is already 2101.
                |r| r.ends_at = "2100-12-31T23:00:00-05:00".into(),
                "ends_at must fall in the years 2000 to 2100 (UTC), got the year 2101",
            ),
        ];
        for (break_it, expected) in cases {
            let mut r = request();
            break_it(&mut r);
            let got = message(r);
            assert!(
                got.starts_with(expected),
                "{got:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn a_title_of_exactly_200_characters_is_fine() {
        let mut r = request();
        r.title = "é".repeat(200);
        assert!(r.validate().is_ok());
    }

    #[test]
    fn direction_marks_and_the_ends_of_the_year_window_are_fine() {
        let mut r = request();
        r.title = "\u{5de}\u{5d1}\u{5e6}\u{5e2} 50%\u{200f}".into();
        r.starts_at = "2000-01-01T00:00:00Z".into();
        r.ends_at = "2100-12-31T23:59:59Z".into();
        assert!(r.validate().is_ok());
    }

    #[test]
    fn slots_parse_from_query_text() {
        assert_eq!("6".parse::<Slot>().expect("in range").get(), 6);
        assert!("abc".parse::<Slot>().is_err());
        assert!("7".parse::<Slot>().is_err());
    }
}
