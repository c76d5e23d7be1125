//! A banner as a client sends it, and the same banner once every field is checked: the store
//! takes only the checked form.

use serde::Deserialize;
use time::OffsetDateTime;

use super::placement::{Platform, Slot};
use super::rules::{check_schedule, check_title, check_url, parse_schedule_time};
use crate::error::Error;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::format_time;

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
}
