//! The banner form's fields as the admin typed them: what a form shown again puts back in its
//! inputs, for a new banner (perhaps prefilled from a calendar cell) or an existing one.

use time::Duration;

use super::datetime_local::local;
use crate::model::{Banner, Platform, Slot};

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
        let day = date.and_then(|d| crate::admin::calendar::parse_day("date", d).ok());
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

#[cfg(test)]
mod tests {
    use super::*;

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
