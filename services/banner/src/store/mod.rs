//! Where banners live: SQLite or PostgreSQL, through one set of queries.
//!
//! [`Store`] is the only code that speaks SQL. Its operations are the ones a banner calendar
//! needs, used alike by the JSON API and the admin pages:
//! - banners: [`create`](Store::create), [`get`](Store::get), [`list`](Store::list),
//!   [`update`](Store::update), [`delete`](Store::delete), [`active_at`](Store::active_at);
//! - images: [`image`](Store::image) (uploads are written together with a banner);
//! - the audit log: [`history`](Store::history), [`recent_history`](Store::recent_history).
//!
//! **The no-overlap rule is the database's job.** Checking for an overlapping banner with a
//! `SELECT` and then inserting would leave a gap between the two statements, in which a second
//! writer can insert its own overlapping banner: both checks pass, both inserts land. Instead
//! the database refuses the write itself (an exclusion constraint in PostgreSQL, triggers in
//! SQLite; see `migrations/`), and the store turns the refusal into [`Error::Overlap`]. Only
//! then does it look up the banner in the way, to tell the client which one it is.
//!
//! **One write, one transaction.** A write is the banner row, its uploaded image if any, and
//! its audit entries, committed together or not at all: a banner refused for overlapping leaves
//! no orphan image and no audit entry behind. Each transaction *starts with a write*, which
//! takes the write lock at once (SQLite) or locks the row (PostgreSQL); a transaction that read
//! first and wrote later could find, on SQLite, that another writer had committed in between
//! and fail instead of waiting.
//!
//! Times are stored as unix seconds (`i64`): sqlx's `Any` driver, which lets one query run on
//! both databases, only carries basic types.
//!
//! Layout: this file (the pool, transactions, retries); [`banners`], [`images`] and [`audit`],
//! the queries of each table.

mod audit;
mod banners;
mod images;

use std::future::Future;

use common::db::Backend;
use sqlx::AnyPool;
use time::OffsetDateTime;

use crate::error::{self, Error};
use crate::images::NewImage;

pub use banners::ListFilter;

/// How many times a write meets a transient failure before giving up (see
/// [`error::is_transient`]).
const ATTEMPTS: u32 = 5;

/// The database. Cloning is cheap: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Which database the pool is on, for the queries' spans.
    backend: Option<Backend>,
}

/// An image uploaded with a banner write: stored in the same transaction, and the banner's
/// `image_url` becomes `<base_url>/images/<its id>`.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub image: &'a NewImage,
    /// `BANNER_PUBLIC_URL`, or `http://<Host>`: see `images`.
    pub base_url: &'a str,
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
        Ok(Self {
            pool,
            backend: Backend::of(database_url),
        })
    }

    /// Closes every connection, waiting for queries in flight. Called when the service stops,
    /// so that SQLite can fold its write-ahead log back into the database file.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The span of one query on this store (see `common::db::query_span`).
    fn query_span(&self, operation: &str, table: &str) -> tracing::Span {
        common::db::query_span(self.backend, operation, table)
    }

    /// A trivial query, for the health check.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(Error::Unavailable)?;
        Ok(())
    }
}

/// Runs `write` (a whole transaction) again while it fails with a transient error, at most
/// [`ATTEMPTS`] times.
async fn retry_transient<T, F, Fut>(mut write: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempt = 1;
    loop {
        match write().await {
            Err(Error::Database(e)) if attempt < ATTEMPTS && error::is_transient(&e) => {
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

fn from_unix(field: &str, seconds: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|e| Error::Corrupt(format!("{field} {seconds}: {e}")))
}
