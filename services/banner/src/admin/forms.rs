//! The banner form: reading what was posted, and checking every field at once.
//!
//! The form is `multipart/form-data`, the encoding that can carry a file. It is read field by
//! field as it streams in; the image is kept only up to the size limit (anything beyond is read
//! and dropped, so the fields after it still arrive).
//!
//! Unlike the JSON API, which reports the first mistake, the form reports *all* of them, each
//! next to its field, and comes back with everything the admin typed (a form that forgets its
//! input on every mistake is a form nobody wants to use). The checks are the model's own
//! (`check_title`, `check_url`, ...), so both paths accept exactly the same banners.
//!
//! Times arrive from `<input type="datetime-local">` as `2026-06-01T09:30`, with no time zone;
//! the form says they are UTC, and they are read as UTC, within the years the model allows
//! (`model::SCHEDULE_YEARS`).

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::header;
use futures::StreamExt;
use serde::Deserialize;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::AppState;
use crate::auth::{AdminSession, csrf};
use crate::error::{Error, Page};
use crate::images::{NewImage, too_large};
use crate::model::{
    Banner, BannerData, Platform, Slot, check_schedule, check_schedule_year, check_title, check_url,
};

/// Room for the form's text fields and multipart framing on top of the largest image: the body
/// limit of the form routes is the image limit plus this.
pub const FORM_OVERHEAD: usize = 64 * 1024;
/// The longest text field accepted, in bytes: far more than any rule allows, far less than a
/// body that would hurt.
const MAX_TEXT_BYTES: usize = 16 * 1024;
/// How much of a too-large body is read (and dropped) before answering 413. Answering while the
/// browser is still sending makes the connection close under it, and the browser then shows
/// "connection reset" instead of our page; reading a few megabytes more avoids that for the
/// usual too-large photo, and anything larger is cut off.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// `datetime-local` without and with seconds.
const MINUTES: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");
const SECONDS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// The body limit of the form routes, for an image limit of `max_image` bytes.
pub fn body_limit(max_image: usize) -> usize {
    max_image.saturating_add(FORM_OVERHEAD)
}

/// The form's fields as typed, which is also what a form shown again puts back in its inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BannerFields {
    pub title: String,
    pub platform: String,
    pub slot: String,
    pub starts_at: String,
    pub ends_at: String,
    pub link_url: String,
    pub remove_image: bool,
}

impl BannerFields {
    /// The fields of a new banner, from a click on an empty calendar cell: that platform slot,
    /// for that whole day. Anything that is not a valid platform, slot or day is ignored.
    pub fn prefilled(platform: Option<&str>, slot: Option<&str>, date: Option<&str>) -> Self {
        let platform = platform
            .and_then(|p| p.parse::<Platform>().ok())
            .unwrap_or(Platform::Desktop);
        let slot = slot.and_then(|s| s.parse::<Slot>().ok());
        let day = date.and_then(|d| super::calendar::parse_day("date", d).ok());
        let (starts_at, ends_at) = match day {
            Some(day) => (
                local(day.midnight().assume_utc()),
                local(
                    day.saturating_add(Duration::days(1))
                        .midnight()
                        .assume_utc(),
                ),
            ),
            None => (String::new(), String::new()),
        };
        Self {
            platform: platform.to_string(),
            slot: slot.map(|s| s.to_string()).unwrap_or_else(|| "1".into()),
            starts_at,
            ends_at,
            ..Self::default()
        }
    }

    /// The fields of an existing banner, for its edit form.
    pub fn of(banner: &Banner) -> Self {
        Self {
            title: banner.title.clone(),
            platform: banner.platform.to_string(),
            slot: banner.slot.to_string(),
            starts_at: local(banner.starts_at),
            ends_at: local(banner.ends_at),
            link_url: banner.link_url.clone().unwrap_or_default(),
            remove_image: false,
        }
    }
}

/// A time as a `datetime-local` value: `2026-06-01T09:30`, or with seconds when it has some.
fn local(t: OffsetDateTime) -> String {
    let format = if t.second() == 0 { MINUTES } else { SECONDS };
    t.format(format).unwrap_or_default()
}

/// The message for each field at fault, by field name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What was posted, read but not yet checked.
#[derive(Debug, Default)]
pub struct Posted {
    pub fields: BannerFields,
    pub csrf: Option<String>,
    pub image: Option<PostedImage>,
}

/// A file sent in the image field.
#[derive(Debug)]
pub enum PostedImage {
    /// Its bytes, no more than the limit.
    Bytes(Vec<u8>),
    /// Larger than the limit: how large it was.
    TooLarge(usize),
}

/// Reads a posted banner form. [`Error::TooLarge`] when the body is beyond any upload, and
/// [`Error::BadForm`] when it is not a multipart form at all.
pub async fn read(request: Request, max_image: usize) -> Result<Posted, Error> {
    let limit = body_limit(max_image);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        drain(request).await;
        return Err(Error::TooLarge { limit: max_image });
    }
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge { limit: max_image }
        } else {
            Error::BadForm(e.body_text())
        }
    };
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| Error::BadForm(rejection.body_text()))?;
    let mut posted = Posted::default();
    while let Some(mut field) = multipart.next_field().await.map_err(too_large)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "image" {
            let mut bytes = Vec::new();
            let mut total = 0usize;
            while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                total = total.saturating_add(chunk.len());
                if total <= max_image {
                    bytes.extend_from_slice(&chunk);
                }
            }
            // A file input left empty still sends the field, with no file name and no bytes.
            posted.image = match total {
                0 => None,
                n if n > max_image => Some(PostedImage::TooLarge(n)),
                _ => Some(PostedImage::Bytes(bytes)),
            };
            continue;
        }
        let value = field.text().await.map_err(too_large)?;
        if value.len() > MAX_TEXT_BYTES {
            return Err(Error::BadForm(format!("the field {name:?} is too long")));
        }
        let fields = &mut posted.fields;
        match name.as_str() {
            csrf::FIELD => posted.csrf = Some(value),
            "title" => fields.title = value,
            "platform" => fields.platform = value,
            "slot" => fields.slot = value,
            "starts_at" => fields.starts_at = value,
            "ends_at" => fields.ends_at = value,
            "link_url" => fields.link_url = value,
            "remove_image" => fields.remove_image = !value.is_empty(),
            _ => {} // unknown fields are ignored, as browsers may add their own
        }
    }
    Ok(posted)
}

/// Reads and drops what is left of a body, up to [`DRAIN_LIMIT`].
async fn drain(request: Request) {
    let mut stream = request.into_body().into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        read = read.saturating_add(chunk.len());
        if read > DRAIN_LIMIT {
            break;
        }
    }
}

/// A form that passed every check.
#[derive(Debug)]
pub struct Checked {
    /// The banner to write. With a new image, its `image_url` is set by the store.
    pub data: BannerData,
    pub image: Option<NewImage>,
}

/// Checks every field of `posted`. `current_image` is the image URL of the banner being edited,
/// kept unless the form removes or replaces it.
pub fn check(
    posted: &Posted,
    current_image: Option<&str>,
    max_image: usize,
) -> Result<Checked, FieldErrors> {
    let fields = &posted.fields;
    let mut errors = FieldErrors::default();
    let mut note = |field: &'static str, e: Error| errors.add(field, reason(e));

    let title = check_title(fields.title.clone())
        .map_err(|e| note("title", e))
        .ok();
    let platform = fields
        .platform
        .parse::<Platform>()
        .map_err(|e| note("platform", e))
        .ok();
    let slot = fields
        .slot
        .parse::<Slot>()
        .map_err(|e| note("slot", e))
        .ok();
    let starts_at = parse_local("starts_at", &fields.starts_at)
        .map_err(|e| note("starts_at", e))
        .ok();
    let ends_at = parse_local("ends_at", &fields.ends_at)
        .map_err(|e| note("ends_at", e))
        .ok();
    if let (Some(starts), Some(ends)) = (starts_at, ends_at)
        && check_schedule(starts, ends).is_err()
    {
        note(
            "ends_at",
            Error::invalid("ends_at", "must be after the start"),
        );
    }
    let link = Some(fields.link_url.trim().to_string()).filter(|url| !url.is_empty());
    let link_url = check_url("link_url", link)
        .map_err(|e| note("link_url", e))
        .ok();
    let image = match &posted.image {
        None => None,
        Some(PostedImage::TooLarge(size)) => {
            errors.add("image", too_large(*size, max_image));
            None
        }
        Some(PostedImage::Bytes(bytes)) => NewImage::check(bytes.clone(), max_image)
            .map_err(|message| errors.add("image", message))
            .ok(),
    };

    match (title, platform, slot, starts_at, ends_at, link_url) {
        (
            Some(title),
            Some(platform),
            Some(slot),
            Some(starts_at),
            Some(ends_at),
            Some(link_url),
        ) if errors.is_empty() => {
            let image_url = if image.is_some() || fields.remove_image {
                None
            } else {
                current_image.map(str::to_string)
            };
            Ok(Checked {
                data: BannerData {
                    title,
                    platform,
                    slot,
                    starts_at,
                    ends_at,
                    image_url,
                    link_url,
                },
                image,
            })
        }
        _ => Err(errors),
    }
}

/// A `datetime-local` value, read as UTC.
fn parse_local(field: &'static str, raw: &str) -> Result<OffsetDateTime, Error> {
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

/// The part of a rule's message that goes next to its field: `must be between 1 and 6, got 7`
/// rather than `slot must be ...`, since the label already says which field it is.
fn reason(error: Error) -> String {
    match error {
        Error::Invalid { reason, .. } => reason,
        other => other.to_string(),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(fields: BannerFields) -> Posted {
        Posted {
            fields,
            csrf: None,
            image: None,
        }
    }

    fn good() -> BannerFields {
        BannerFields {
            title: "Summer sale".into(),
            platform: "desktop".into(),
            slot: "2".into(),
            starts_at: "2026-06-01T09:30".into(),
            ends_at: "2026-06-02T00:00:00".into(),
            link_url: " https://shop.example.com/sale ".into(),
            remove_image: false,
        }
    }

    #[test]
    fn a_good_form_becomes_banner_data_in_utc() {
        let checked = check(&posted(good()), Some("https://x.example/a.png"), 100).expect("valid");
        assert_eq!(checked.data.title, "Summer sale");
        assert_eq!(checked.data.slot.get(), 2);
        assert_eq!(
            crate::model::format_time(checked.data.starts_at),
            "2026-06-01T09:30:00Z"
        );
        assert_eq!(
            checked.data.link_url.as_deref(),
            Some("https://shop.example.com/sale")
        );
        assert_eq!(
            checked.data.image_url.as_deref(),
            Some("https://x.example/a.png")
        );
    }

    #[test]
    fn every_mistake_is_reported_next_to_its_field() {
        let form = BannerFields {
            title: " ".into(),
            platform: "tablet".into(),
            slot: "7".into(),
            starts_at: "2026-06-02T00:00".into(),
            ends_at: "2026-06-01T00:00".into(),
            link_url: "javascript:alert(1)".into(),
            remove_image: false,
        };
        let mut with_text_image = posted(form);
        with_text_image.image = Some(PostedImage::Bytes(b"hello".to_vec()));
        let errors = check(&with_text_image, None, 100).expect_err("invalid");
        assert_eq!(errors.get("title"), Some("must not be empty"));
        assert!(
            errors
                .get("platform")
                .is_some_and(|e| e.contains("mobile or desktop"))
        );
        assert_eq!(errors.get("slot"), Some("must be between 1 and 6, got 7"));
        assert_eq!(errors.get("ends_at"), Some("must be after the start"));
        assert!(
            errors
                .get("link_url")
                .is_some_and(|e| e.contains("http or https"))
        );
        assert!(errors.get("image").is_some_and(|e| e.contains("not a PNG")));
        assert_eq!(errors.get("starts_at"), None);
    }

    #[test]
    fn missing_and_malformed_times_are_named() {
        let mut form = good();
        form.starts_at = String::new();
        form.ends_at = "tomorrow".into();
        let errors = check(&posted(form), None, 100).expect_err("invalid");
        assert_eq!(errors.get("starts_at"), Some("is required"));
        assert!(
            errors
                .get("ends_at")
                .is_some_and(|e| e.contains("such as 2026-06-01T09:30"))
        );
    }

    #[test]
    fn hidden_characters_and_years_out_of_the_window_are_named() {
        let mut form = good();
        form.title = "Sale\u{202e}".into();
        form.starts_at = "0000-06-01T09:30".into();
        form.ends_at = "2101-01-01T00:00".into();
        let errors = check(&posted(form), None, 100).expect_err("invalid");
        assert_eq!(
            errors.get("title"),
            Some(
                "must not contain control or text-direction characters, found U+202E at character 5"
            )
        );
        assert_eq!(
            errors.get("starts_at"),
            Some("must fall in the years 2000 to 2100 (UTC), got the year 0000")
        );
        assert_eq!(
            errors.get("ends_at"),
            Some("must fall in the years 2000 to 2100 (UTC), got the year 2101")
        );
    }

    #[test]
    fn removing_or_replacing_the_image_drops_the_current_url() {
        let mut form = good();
        form.remove_image = true;
        let checked = check(&posted(form), Some("https://x.example/a.png"), 100).expect("valid");
        assert_eq!(checked.data.image_url, None);
    }

    #[test]
    fn a_click_on_a_cell_prefills_that_slot_for_that_day() {
        let fields = BannerFields::prefilled(Some("mobile"), Some("4"), Some("2026-06-03"));
        assert_eq!(
            (fields.platform.as_str(), fields.slot.as_str()),
            ("mobile", "4")
        );
        assert_eq!(
            (fields.starts_at.as_str(), fields.ends_at.as_str()),
            ("2026-06-03T00:00", "2026-06-04T00:00")
        );
        let junk = BannerFields::prefilled(Some("tv"), Some("9"), Some("June"));
        assert_eq!(
            (junk.platform.as_str(), junk.slot.as_str()),
            ("desktop", "1")
        );
        assert_eq!(junk.starts_at, "");
    }
}
