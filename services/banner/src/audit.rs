//! The audit log: who changed which banner, when, and how.
//!
//! Every write (create, update, delete, image upload), through the admin pages or the JSON API,
//! adds an entry in the **same database transaction** as the write itself: either both are
//! stored or neither is, so the log can neither miss a change nor record one that did not
//! happen.
//!
//! Entries refer to banners by id without a foreign key, on purpose: deleting a banner must not
//! delete its history (a cascade would), and "who deleted it?" is the question the log answers
//! most often. An entry is never changed or removed by the service.
//!
//! This module holds the entry type and the one-line summaries; the store writes and reads them.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::images::{NewImage, describe_size};
use crate::model::{Banner, BannerData, format_minutes, format_schedule};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Upload,
}

impl Action {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Upload => "upload",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "create" => Ok(Action::Create),
            "update" => Ok(Action::Update),
            "delete" => Ok(Action::Delete),
            "upload" => Ok(Action::Upload),
            _ => Err(format!("unknown audit action {raw:?}")),
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: OffsetDateTime,
    /// The admin user name.
    pub actor: String,
    pub action: Action,
    /// The banner concerned; it may have been deleted since.
    pub banner_id: Option<i64>,
    /// The image concerned, for an upload.
    pub image_id: Option<i64>,
    pub summary: String,
}

impl AuditEntry {
    /// `2026-06-01 09:30`: when, to the minute, in UTC.
    pub fn when(&self) -> String {
        format_minutes(self.at)
    }
}

/// An entry about to be written: the store adds the id.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: Action,
    pub banner_id: i64,
    pub image_id: Option<i64>,
    pub summary: String,
}

/// `created "Summer sale" in desktop slot 1, 2026-06-01 00:00 to 2026-07-01 00:00 UTC`.
pub fn created(banner: &Banner) -> String {
    format!("created {:?} in {}", banner.title, placement(banner))
}

/// `deleted "Summer sale" (desktop slot 1, ...)`.
pub fn deleted(banner: &Banner) -> String {
    format!("deleted {:?} ({})", banner.title, placement(banner))
}

/// `uploaded image 4 (image/png, 12.5 KB)`.
pub fn uploaded(image_id: i64, image: &NewImage) -> String {
    format!(
        "uploaded image {image_id} ({}, {})",
        image.kind.content_type(),
        describe_size(image.bytes.len())
    )
}

/// What an update changed, field by field: `title "Old" → "New"; schedule ... → ...`.
pub fn updated(old: &Banner, new: &BannerData) -> String {
    let mut changes = Vec::new();
    if old.title != new.title {
        changes.push(format!("title {:?} → {:?}", old.title, new.title));
    }
    if (old.platform, old.slot) != (new.platform, new.slot) {
        changes.push(format!(
            "slot {} {} → {} {}",
            old.platform, old.slot, new.platform, new.slot
        ));
    }
    if (old.starts_at, old.ends_at) != (new.starts_at, new.ends_at) {
        changes.push(format!(
            "schedule {} → {}",
            format_schedule(old.starts_at, old.ends_at),
            format_schedule(new.starts_at, new.ends_at)
        ));
    }
    if old.image_url != new.image_url {
        changes.push(change_of("image", &old.image_url, &new.image_url));
    }
    if old.link_url != new.link_url {
        changes.push(change_of("link", &old.link_url, &new.link_url));
    }
    if changes.is_empty() {
        "saved without changes".into()
    } else {
        format!("changed {}", changes.join("; "))
    }
}

fn change_of(what: &str, old: &Option<String>, new: &Option<String>) -> String {
    match (old, new) {
        (None, Some(url)) => format!("{what} set to {url}"),
        (Some(_), None) => format!("{what} removed"),
        (_, Some(url)) => format!("{what} → {url}"),
        (None, None) => format!("{what} unchanged"),
    }
}

fn placement(banner: &Banner) -> String {
    format!(
        "{} slot {}, {}",
        banner.platform,
        banner.slot,
        banner.schedule()
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::model::{Platform, Slot};

    fn banner() -> Banner {
        Banner {
            id: 3,
            title: "Summer sale".into(),
            platform: Platform::Desktop,
            slot: Slot::try_from(1).expect("in range"),
            starts_at: datetime!(2026-06-01 00:00 UTC),
            ends_at: datetime!(2026-07-01 00:00 UTC),
            image_url: None,
            link_url: Some("https://shop.example.com/a".into()),
            created_at: datetime!(2026-05-01 00:00 UTC),
            updated_at: datetime!(2026-05-01 00:00 UTC),
            created_by: Some("admin".into()),
            updated_by: Some("admin".into()),
        }
    }

    fn data(banner: &Banner) -> BannerData {
        BannerData {
            title: banner.title.clone(),
            platform: banner.platform,
            slot: banner.slot,
            starts_at: banner.starts_at,
            ends_at: banner.ends_at,
            image_url: banner.image_url.clone(),
            link_url: banner.link_url.clone(),
        }
    }

    #[test]
    fn summaries_name_the_banner_and_its_schedule() {
        assert_eq!(
            created(&banner()),
            "created \"Summer sale\" in desktop slot 1, 2026-06-01 00:00 to 2026-07-01 00:00 UTC"
        );
        assert!(deleted(&banner()).starts_with("deleted \"Summer sale\" (desktop slot 1"));
    }

    #[test]
    fn an_update_lists_what_changed() {
        let old = banner();
        let mut new = data(&old);
        assert_eq!(updated(&old, &new), "saved without changes");
        new.title = "Autumn".into();
        new.slot = Slot::try_from(2).expect("in range");
        new.link_url = None;
        new.image_url = Some("http://127.0.0.1:9084/images/1".into());
        assert_eq!(
            updated(&old, &new),
            "changed title \"Summer sale\" → \"Autumn\"; slot desktop 1 → desktop 2; \
             image set to http://127.0.0.1:9084/images/1; link removed"
        );
    }

    #[test]
    fn actions_round_trip_through_their_names() {
        for action in [
            Action::Create,
            Action::Update,
            Action::Delete,
            Action::Upload,
        ] {
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
        }
        assert!("drop".parse::<Action>().is_err());
    }
}
