//! The stored banner, as the API sends it and productpage reads it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::placement::{Platform, Slot};
use super::times::format_schedule;

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
