//! Where banners live: SQLite or PostgreSQL, through one set of queries.
//!
//! [`Store`] is the only code that speaks SQL. Its operations are the ones a banner calendar
//! needs: [`create`](Store::create), [`get`](Store::get), [`list`](Store::list),
//! [`update`](Store::update), [`delete`](Store::delete) and [`active_at`](Store::active_at).
//! The JSON API uses them today; an admin screen can use the same ones tomorrow.
//!
//! **The no-overlap rule is the database's job.** Checking for an overlapping banner with a
//! `SELECT` and then inserting would leave a gap between the two statements, in which a second
//! writer can insert its own overlapping banner: both checks pass, both inserts land. Instead
//! the database refuses the write itself (an exclusion constraint in PostgreSQL, triggers in
//! SQLite; see `migrations/`), and the store turns the refusal into [`Error::Overlap`]. Only
//! then does it look up the banner in the way, to tell the client which one it is.
//!
//! Times are stored as unix seconds (`i64`): sqlx's `Any` driver, which lets one query run on
//! both databases, only carries basic types.

use std::future::Future;

use sqlx::AnyPool;
use time::OffsetDateTime;

use crate::error::{self, Error};
use crate::model::{Banner, BannerData, Platform, Slot};

/// The columns of a banner row, in the order of [`BannerRow`]. A macro, not a `const`, so that
/// `concat!` can build each query as one `&'static str`: sqlx only takes SQL known at compile
/// time, which rules out injection by construction.
macro_rules! columns {
    () => {
        "id, title, platform, slot, starts_at, ends_at, image_url, link_url, created_at, updated_at"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO banners \
     (title, platform, slot, starts_at, ends_at, image_url, link_url, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
    columns!()
);

const UPDATE: &str = concat!(
    "UPDATE banners SET title = $2, platform = $3, slot = $4, starts_at = $5, ends_at = $6, \
     image_url = $7, link_url = $8, updated_at = $9 WHERE id = $1 RETURNING ",
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

const DELETE: &str = "DELETE FROM banners WHERE id = $1";

/// How many times a write meets a transient failure before giving up (see
/// [`error::is_transient`]).
const ATTEMPTS: u32 = 5;

/// Which banners [`Store::list`] returns; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub platform: Option<Platform>,
    pub slot: Option<Slot>,
    /// With `to`: only banners that show at some instant of `[from, to)`.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

/// The banner table. Cloning is cheap: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

/// The service's migrations, embedded in the binary at compile time.
fn migrations() -> common::db::Migrations {
    common::db::Migrations {
        sqlite: sqlx::migrate!("migrations/sqlite"),
        postgres: sqlx::migrate!("migrations/postgres"),
    }
}

impl Store {
    /// Connects to `database_url` (`sqlite:` or `postgres://`) and brings the schema up to date.
    pub async fn connect(database_url: &str) -> Result<Self, common::db::DbError> {
        let pool = common::db::connect(database_url, &migrations()).await?;
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for queries in flight. Called when the service stops,
    /// so that SQLite can fold its write-ahead log back into the database file.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A trivial query, for the health check.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(Error::Unavailable)?;
        Ok(())
    }

    /// Stores a new banner; [`Error::Overlap`] if its schedule collides with another's.
    pub async fn create(&self, data: &BannerData) -> Result<Banner, Error> {
        let now = now();
        let written = retry_transient(|| {
            sqlx::query_as::<_, BannerRow>(INSERT)
                .bind(data.title.clone())
                .bind(data.platform.as_str())
                .bind(i64::from(data.slot))
                .bind(data.starts_at.unix_timestamp())
                .bind(data.ends_at.unix_timestamp())
                .bind(data.image_url.clone())
                .bind(data.link_url.clone())
                .bind(now)
                .fetch_one(&self.pool)
        })
        .await;
        match written {
            Ok(row) => row.try_into(),
            Err(e) => Err(self.explain_write_error(e, data, None).await),
        }
    }

    /// The banner `id`; [`Error::NotFound`] if there is none.
    pub async fn get(&self, id: i64) -> Result<Banner, Error> {
        sqlx::query_as::<_, BannerRow>(SELECT_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
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
            .await?
            .into_iter()
            .map(Banner::try_from)
            .collect()
    }

    /// Replaces everything about banner `id` but its id and creation time.
    /// [`Error::NotFound`] if there is none, [`Error::Overlap`] if the new schedule collides
    /// with another banner's (a banner never collides with itself).
    pub async fn update(&self, id: i64, data: &BannerData) -> Result<Banner, Error> {
        let now = now();
        let written = retry_transient(|| {
            sqlx::query_as::<_, BannerRow>(UPDATE)
                .bind(id)
                .bind(data.title.clone())
                .bind(data.platform.as_str())
                .bind(i64::from(data.slot))
                .bind(data.starts_at.unix_timestamp())
                .bind(data.ends_at.unix_timestamp())
                .bind(data.image_url.clone())
                .bind(data.link_url.clone())
                .bind(now)
                .fetch_optional(&self.pool)
        })
        .await;
        match written {
            Ok(Some(row)) => row.try_into(),
            Ok(None) => Err(Error::NotFound(id)),
            Err(e) => Err(self.explain_write_error(e, data, Some(id)).await),
        }
    }

    /// Deletes banner `id`; [`Error::NotFound`] if there is none.
    pub async fn delete(&self, id: i64) -> Result<(), Error> {
        let done = sqlx::query(DELETE).bind(id).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(id));
        }
        Ok(())
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

/// Runs `write` again while it fails with a transient error, at most [`ATTEMPTS`] times.
async fn retry_transient<T, F, Fut>(mut write: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match write().await {
            Err(e) if attempt < ATTEMPTS && error::is_transient(&e) => {
                tracing::debug!(error = %e, attempt, "transient database error, trying again");
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn unix_seconds_rounded_up(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() + i64::from(t.nanosecond() > 0)
}

fn from_unix(field: &str, seconds: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|e| Error::Corrupt(format!("{field} {seconds}: {e}")))
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
        })
    }
}
