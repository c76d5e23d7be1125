//! The `banners` table: every banner query, and the no-overlap rule's errors.

use sqlx::AnyConnection;
use time::OffsetDateTime;
use tracing::Instrument as _;

use super::{Store, Upload, audit, from_unix, images, now, retry_transient};
use crate::audit::{Action, NewEntry};
use crate::error::{self, Error};
use crate::model::{Banner, BannerData, Platform, Slot};

/// The columns of a banner row, in the order of [`BannerRow`]. A macro, not a `const`, so that
/// `concat!` can build each query as one `&'static str`: sqlx only takes SQL known at compile
/// time, which rules out injection by construction.
macro_rules! columns {
    () => {
        "id, title, platform, slot, starts_at, ends_at, image_url, link_url, created_at, \
         updated_at, created_by, updated_by"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO banners \
     (title, platform, slot, starts_at, ends_at, image_url, link_url, created_at, updated_at, \
      created_by, updated_by) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9) RETURNING ",
    columns!()
);

/// Takes the row's write lock, changing nothing, so that the row read next cannot change
/// before the transaction ends (see the module doc of `store`).
const LOCK: &str = "UPDATE banners SET updated_at = updated_at WHERE id = $1";

const UPDATE: &str = concat!(
    "UPDATE banners SET title = $2, platform = $3, slot = $4, starts_at = $5, ends_at = $6, \
     image_url = $7, link_url = $8, updated_at = $9, updated_by = $10 WHERE id = $1 RETURNING ",
    columns!()
);

const SELECT_BY_ID: &str = concat!("SELECT ", columns!(), " FROM banners WHERE id = $1");

/// A `NULL` parameter switches its filter off, so one query serves every combination.
const SELECT_LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM banners \
     WHERE ($1 IS NULL OR platform = $1) \
       AND ($2 IS NULL OR slot = $2) \
       AND ($3 IS NULL OR ends_at > $3) \
       AND ($4 IS NULL OR starts_at < $4) \
     ORDER BY platform, slot, starts_at, id"
);

const SELECT_ACTIVE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM banners WHERE platform = $1 AND slot = $2 AND starts_at <= $3 AND $3 < ends_at"
);

/// The same overlap test as the database rule, to name the banner that made a write fail.
const SELECT_OVERLAPPING: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM banners WHERE platform = $1 AND slot = $2 AND starts_at < $4 AND $3 < ends_at \
       AND id <> $5 ORDER BY starts_at LIMIT 1"
);

const DELETE: &str = concat!("DELETE FROM banners WHERE id = $1 RETURNING ", columns!());

/// Which banners [`Store::list`] returns; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub platform: Option<Platform>,
    pub slot: Option<Slot>,
    /// With `to`: only banners that show at some instant of `[from, to)`.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

impl Store {
    /// Stores a new banner written by `actor`, with its uploaded image if any;
    /// [`Error::Overlap`] if its schedule collides with another's.
    pub async fn create(
        &self,
        data: &BannerData,
        actor: &str,
        upload: Option<Upload<'_>>,
    ) -> Result<Banner, Error> {
        let now = now();
        match retry_transient(|| self.try_create(data, actor, upload, now)).await {
            Err(Error::Database(e)) => Err(self.explain_write_error(e, data, None).await),
            result => result,
        }
    }

    async fn try_create(
        &self,
        data: &BannerData,
        actor: &str,
        upload: Option<Upload<'_>>,
        now: i64,
    ) -> Result<Banner, Error> {
        let mut tx = self.pool.begin().await?;
        let (data, image) = with_upload(&mut tx, data, actor, upload, now).await?;
        let banner: Banner = sqlx::query_as::<_, BannerRow>(INSERT)
            .bind(data.title.clone())
            .bind(data.platform.as_str())
            .bind(i64::from(data.slot))
            .bind(data.starts_at.unix_timestamp())
            .bind(data.ends_at.unix_timestamp())
            .bind(data.image_url.clone())
            .bind(data.link_url.clone())
            .bind(now)
            .bind(actor)
            .fetch_one(&mut *tx)
            .instrument(self.query_span("INSERT", "banners"))
            .await?
            .try_into()?;
        let summary = crate::audit::created(&banner);
        let entry = NewEntry {
            at: now,
            actor,
            action: Action::Create,
            banner_id: banner.id,
            image_id: None,
            summary,
        };
        audit::record(&mut tx, &entry).await?;
        record_upload(&mut tx, image, banner.id, actor, now).await?;
        tx.commit().await?;
        Ok(banner)
    }

    /// The banner `id`; [`Error::NotFound`] if there is none.
    pub async fn get(&self, id: i64) -> Result<Banner, Error> {
        sqlx::query_as::<_, BannerRow>(SELECT_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .instrument(self.query_span("SELECT", "banners"))
            .await?
            .ok_or(Error::NotFound(id))?
            .try_into()
    }

    /// The banners that match `filter`, ordered by platform, slot and start.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<Banner>, Error> {
        sqlx::query_as::<_, BannerRow>(SELECT_LIST)
            .bind(filter.platform.map(Platform::as_str))
            .bind(filter.slot.map(i64::from))
            // Stored times are whole seconds, so rounding `from` down and `to` up keeps exactly
            // the banners that meet [from, to), even when those carry a fraction of a second.
            .bind(filter.from.map(OffsetDateTime::unix_timestamp))
            .bind(filter.to.map(unix_seconds_rounded_up))
            .fetch_all(&self.pool)
            .instrument(self.query_span("SELECT", "banners"))
            .await?
            .into_iter()
            .map(Banner::try_from)
            .collect()
    }

    /// Replaces everything about banner `id` but its id and creation, as `actor`, with a new
    /// uploaded image if any. [`Error::NotFound`] if there is none, [`Error::Overlap`] if the
    /// new schedule collides with another banner's (a banner never collides with itself).
    pub async fn update(
        &self,
        id: i64,
        data: &BannerData,
        actor: &str,
        upload: Option<Upload<'_>>,
    ) -> Result<Banner, Error> {
        let now = now();
        match retry_transient(|| self.try_update(id, data, actor, upload, now)).await {
            Err(Error::Database(e)) => Err(self.explain_write_error(e, data, Some(id)).await),
            result => result,
        }
    }

    async fn try_update(
        &self,
        id: i64,
        data: &BannerData,
        actor: &str,
        upload: Option<Upload<'_>>,
        now: i64,
    ) -> Result<Banner, Error> {
        let mut tx = self.pool.begin().await?;
        let locked = sqlx::query(LOCK)
            .bind(id)
            .execute(&mut *tx)
            .instrument(self.query_span("UPDATE", "banners"))
            .await?;
        if locked.rows_affected() == 0 {
            return Err(Error::NotFound(id));
        }
        let old: Banner = sqlx::query_as::<_, BannerRow>(SELECT_BY_ID)
            .bind(id)
            .fetch_one(&mut *tx)
            .instrument(self.query_span("SELECT", "banners"))
            .await?
            .try_into()?;
        let (data, image) = with_upload(&mut tx, data, actor, upload, now).await?;
        let banner: Banner = sqlx::query_as::<_, BannerRow>(UPDATE)
            .bind(id)
            .bind(data.title.clone())
            .bind(data.platform.as_str())
            .bind(i64::from(data.slot))
            .bind(data.starts_at.unix_timestamp())
            .bind(data.ends_at.unix_timestamp())
            .bind(data.image_url.clone())
            .bind(data.link_url.clone())
            .bind(now)
            .bind(actor)
            .fetch_one(&mut *tx)
            .instrument(self.query_span("UPDATE", "banners"))
            .await?
            .try_into()?;
        let entry = NewEntry {
            at: now,
            actor,
            action: Action::Update,
            banner_id: id,
            image_id: None,
            summary: crate::audit::updated(&old, &data),
        };
        audit::record(&mut tx, &entry).await?;
        record_upload(&mut tx, image, id, actor, now).await?;
        tx.commit().await?;
        Ok(banner)
    }

    /// Deletes banner `id` as `actor` and returns it; [`Error::NotFound`] if there is none.
    /// Its audit history stays.
    pub async fn delete(&self, id: i64, actor: &str) -> Result<Banner, Error> {
        let now = now();
        retry_transient(|| self.try_delete(id, actor, now)).await
    }

    async fn try_delete(&self, id: i64, actor: &str, now: i64) -> Result<Banner, Error> {
        let mut tx = self.pool.begin().await?;
        let banner: Banner = sqlx::query_as::<_, BannerRow>(DELETE)
            .bind(id)
            .fetch_optional(&mut *tx)
            .instrument(self.query_span("DELETE", "banners"))
            .await?
            .ok_or(Error::NotFound(id))?
            .try_into()?;
        let entry = NewEntry {
            at: now,
            actor,
            action: Action::Delete,
            banner_id: id,
            image_id: None,
            summary: crate::audit::deleted(&banner),
        };
        audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(banner)
    }

    /// The banner showing in `platform` slot `slot` at `at`; [`Error::NoActiveBanner`] if none.
    /// At most one can match, since schedules in a slot never overlap.
    pub async fn active_at(
        &self,
        platform: Platform,
        slot: Slot,
        at: OffsetDateTime,
    ) -> Result<Banner, Error> {
        // A fraction of a second cannot change the answer: stored times are whole seconds, so
        // `starts_at <= at < ends_at` holds for `at` exactly when it holds for `at` rounded down.
        sqlx::query_as::<_, BannerRow>(SELECT_ACTIVE)
            .bind(platform.as_str())
            .bind(i64::from(slot))
            .bind(at.unix_timestamp())
            .fetch_optional(&self.pool)
            .instrument(self.query_span("SELECT", "banners"))
            .await?
            .ok_or(Error::NoActiveBanner { platform, slot, at })?
            .try_into()
    }

    /// Turns a failed write into the error to report. For an overlap, this is where the banner
    /// in the way is looked up. It may have been deleted in the meantime; the answer is still a
    /// 409, just without naming it.
    async fn explain_write_error(
        &self,
        e: sqlx::Error,
        data: &BannerData,
        replacing: Option<i64>,
    ) -> Error {
        if !error::is_overlap(&e) {
            return Error::Database(e);
        }
        let found = sqlx::query_as::<_, BannerRow>(SELECT_OVERLAPPING)
            .bind(data.platform.as_str())
            .bind(i64::from(data.slot))
            .bind(data.starts_at.unix_timestamp())
            .bind(data.ends_at.unix_timestamp())
            // Ids start at 1, so 0 excludes nothing when the write was a new banner.
            .bind(replacing.unwrap_or(0))
            .fetch_optional(&self.pool)
            .instrument(self.query_span("SELECT", "banners"))
            .await;
        let conflicting = match found
            .map_err(Error::from)
            .and_then(|row| row.map(Banner::try_from).transpose())
        {
            Ok(banner) => banner.map(Box::new),
            Err(lookup) => {
                tracing::warn!(error = ?lookup, "cannot look up the overlapping banner");
                None
            }
        };
        Error::Overlap {
            platform: data.platform,
            slot: data.slot,
            conflicting,
        }
    }
}

/// Stores the uploaded image, if any, and returns the banner data to write: with the image's
/// URL when there was an upload, as given otherwise.
async fn with_upload<'a>(
    conn: &mut AnyConnection,
    data: &BannerData,
    actor: &str,
    upload: Option<Upload<'a>>,
    now: i64,
) -> Result<(BannerData, Option<(i64, Upload<'a>)>), Error> {
    let mut data = data.clone();
    let Some(upload) = upload else {
        return Ok((data, None));
    };
    let image_id = images::insert(conn, upload.image, actor, now).await?;
    data.image_url = Some(format!("{}/images/{image_id}", upload.base_url));
    Ok((data, Some((image_id, upload))))
}

/// The audit entry of an upload stored by [`with_upload`].
async fn record_upload(
    conn: &mut AnyConnection,
    image: Option<(i64, Upload<'_>)>,
    banner_id: i64,
    actor: &str,
    now: i64,
) -> Result<(), Error> {
    let Some((image_id, upload)) = image else {
        return Ok(());
    };
    let entry = NewEntry {
        at: now,
        actor,
        action: Action::Upload,
        banner_id,
        image_id: Some(image_id),
        summary: crate::audit::uploaded(image_id, upload.image),
    };
    audit::record(conn, &entry).await
}

fn unix_seconds_rounded_up(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() + i64::from(t.nanosecond() > 0)
}

/// A row as the database returns it, before the domain rules are checked again.
#[derive(sqlx::FromRow)]
struct BannerRow {
    id: i64,
    title: String,
    platform: String,
    slot: i64,
    starts_at: i64,
    ends_at: i64,
    image_url: Option<String>,
    link_url: Option<String>,
    created_at: i64,
    updated_at: i64,
    created_by: Option<String>,
    updated_by: Option<String>,
}

impl TryFrom<BannerRow> for Banner {
    type Error = Error;

    fn try_from(row: BannerRow) -> Result<Banner, Error> {
        let corrupt = |e: Error| Error::Corrupt(format!("banner {}: {e}", row.id));
        Ok(Banner {
            id: row.id,
            platform: row.platform.parse().map_err(corrupt)?,
            slot: Slot::try_from(row.slot).map_err(corrupt)?,
            starts_at: from_unix("starts_at", row.starts_at)?,
            ends_at: from_unix("ends_at", row.ends_at)?,
            created_at: from_unix("created_at", row.created_at)?,
            updated_at: from_unix("updated_at", row.updated_at)?,
            title: row.title,
            image_url: row.image_url,
            link_url: row.link_url,
            created_by: row.created_by,
            updated_by: row.updated_by,
        })
    }
}
