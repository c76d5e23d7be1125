//! Where the ratings come from: memory (v1 and the fault variants) or a database (v2).
//!
//! The two stores answer the same two questions, "what are the ratings of product N?" and
//! "store these ratings for product N", so the handlers do not know which one they talk to.
//!
//! The database store keeps Bookinfo's v2 rules, odd as they are: it ignores the product id
//! and reads the first two rows of the `ratings` table as Reviewer1 and Reviewer2, 0 for a row
//! that is missing; and it refuses to store anything.

use std::collections::HashMap;
use std::sync::Mutex;

use common::db::{self, Backend, DbError, Migrations};
use sqlx::AnyPool;
use tracing::Instrument as _;

use crate::error::Error;
use crate::model::{Ratings, bookinfo_ratings};

/// The reviewers the database rows stand for, in row order.
const DATABASE_REVIEWERS: [&str; 2] = ["Reviewer1", "Reviewer2"];

/// A source of ratings.
#[derive(Debug)]
pub enum Store {
    /// Posted ratings per product id; every other product has Bookinfo's 5 and 4.
    Memory(Mutex<HashMap<i64, Ratings>>),
    /// The `ratings` table, on SQLite or PostgreSQL.
    Database(AnyPool),
}

impl Store {
    /// An empty memory store.
    pub fn memory() -> Self {
        Store::Memory(Mutex::new(HashMap::new()))
    }

    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn database(url: &str) -> Result<Self, DbError> {
        let migrations = Migrations {
            sqlite: sqlx::migrate!("migrations/sqlite"),
            postgres: sqlx::migrate!("migrations/postgres"),
        };
        Ok(Store::Database(db::connect(url, &migrations).await?))
    }

    /// The ratings of `product_id`.
    pub async fn get(&self, product_id: i64) -> Result<Ratings, Error> {
        match self {
            Store::Memory(posted) => Ok(lock(posted)
                .get(&product_id)
                .cloned()
                .unwrap_or_else(bookinfo_ratings)),
            Store::Database(pool) => {
                let rows: Vec<i64> =
                    sqlx::query_scalar("SELECT rating FROM ratings ORDER BY review_id LIMIT 2")
                        .fetch_all(pool)
                        .instrument(db::query_span(Backend::of_pool(pool), "SELECT", "ratings"))
                        .await
                        .map_err(Error::Database)?;
                Ok(DATABASE_REVIEWERS
                    .iter()
                    .enumerate()
                    .map(|(i, reviewer)| (reviewer.to_string(), rows.get(i).copied().unwrap_or(0)))
                    .collect())
            }
        }
    }

    /// Replaces the ratings of `product_id` and returns what is now stored.
    pub async fn put(&self, product_id: i64, ratings: Ratings) -> Result<Ratings, Error> {
        match self {
            Store::Memory(posted) => {
                lock(posted).insert(product_id, ratings.clone());
                Ok(ratings)
            }
            Store::Database(_) => Err(Error::PostNotImplemented),
        }
    }
}

/// The map behind the memory store. A poisoned lock only means a request panicked while holding
/// it; each write replaces one whole entry, so the map is still consistent.
fn lock(posted: &Mutex<HashMap<i64, Ratings>>) -> std::sync::MutexGuard<'_, HashMap<i64, Ratings>> {
    posted
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_gives_bookinfo_ratings_until_others_are_posted() {
        let store = Store::memory();
        assert_eq!(store.get(1).await.expect("memory"), bookinfo_ratings());
        let posted = Ratings::from([("Ann".to_string(), 2)]);
        store.put(1, posted.clone()).await.expect("memory");
        assert_eq!(store.get(1).await.expect("memory"), posted);
        assert_eq!(store.get(2).await.expect("memory"), bookinfo_ratings());
    }
}
