//! Checking a posted banner form: every field at once, with the model's own rules, so the form
//! and the JSON API accept exactly the same banners.

use super::datetime_local::parse_local;
use super::field_errors::FieldErrors;
use super::read::{Posted, PostedImage};
use crate::error::Error;
use crate::images::{NewImage, too_large};
use crate::model::{BannerData, Platform, Slot, check_schedule, check_title, check_url};

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

/// The part of a rule's message that goes next to its field: `must be between 1 and 6, got 7`
/// rather than `slot must be ...`, since the label already says which field it is.
fn reason(error: Error) -> String {
    match error {
        Error::Invalid { reason, .. } => reason,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::forms::BannerFields;

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
}
