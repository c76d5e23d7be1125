//! The `audit_log` table: entries are added inside each write's transaction, and read back per
//! banner or all together, newest first.

use common::db::Backend;
use sqlx::AnyConnection;
use tracing::Instrument as _;

use super::{Store, from_unix};
use crate::audit::{AuditEntry, NewEntry};
use crate::error::Error;

const INSERT: &str = "INSERT INTO audit_log (at, actor, action, banner_id, image_id, summary) \
                      VALUES ($1, $2, $3, $4, $5, $6)";

macro_rules! columns {
    () => {
        "id, at, actor, action, banner_id, image_id, summary"
    };
}

const SELECT_BY_BANNER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM audit_log WHERE banner_id = $1 ORDER BY id DESC"
);

const SELECT_RECENT: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM audit_log ORDER BY id DESC LIMIT $1"
);

/// Adds `entry` inside the caller's transaction.
pub(super) async fn record(conn: &mut AnyConnection, entry: &NewEntry<'_>) -> Result<(), Error> {
    let span = common::db::query_span(Backend::of_connection(conn), "INSERT", "audit_log");
    sqlx::query(INSERT)
        .bind(entry.at)
        .bind(entry.actor)
        .bind(entry.action.as_str())
        .bind(entry.banner_id)
        .bind(entry.image_id)
        .bind(entry.summary.clone())
        .execute(conn)
        .instrument(span)
        .await?;
    Ok(())
}

impl Store {
    /// Everything that happened to banner `id`, newest first. Still there after a delete.
    pub async fn history(&self, banner_id: i64) -> Result<Vec<AuditEntry>, Error> {
        sqlx::query_as::<_, AuditRow>(SELECT_BY_BANNER)
            .bind(banner_id)
            .fetch_all(&self.pool)
            .instrument(self.query_span("SELECT", "audit_log"))
            .await?
            .into_iter()
            .map(AuditEntry::try_from)
            .collect()
    }

    /// The latest `limit` entries about any banner, newest first.
    pub async fn recent_history(&self, limit: u32) -> Result<Vec<AuditEntry>, Error> {
        sqlx::query_as::<_, AuditRow>(SELECT_RECENT)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .instrument(self.query_span("SELECT", "audit_log"))
            .await?
            .into_iter()
            .map(AuditEntry::try_from)
            .collect()
    }
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    banner_id: Option<i64>,
    image_id: Option<i64>,
    summary: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = Error;

    fn try_from(row: AuditRow) -> Result<Self, Error> {
        Ok(AuditEntry {
            id: row.id,
            at: from_unix("at", row.at)?,
            action: row
                .action
                .parse()
                .map_err(|e| Error::Corrupt(format!("audit entry {}: {e}", row.id)))?,
            actor: row.actor,
            banner_id: row.banner_id,
            image_id: row.image_id,
            summary: row.summary,
        })
    }
}
