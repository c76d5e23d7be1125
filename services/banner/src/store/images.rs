//! The `images` table: uploaded images, stored with the write that uploads them.

use common::db::Backend;
use sqlx::AnyConnection;
use tracing::Instrument as _;

use super::Store;
use crate::error::Error;
use crate::images::{NewImage, StoredImage};

const INSERT: &str = "INSERT INTO images (content_type, size, sha256, bytes, created_at, created_by) \
                      VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

const SELECT_BY_ID: &str = "SELECT id, content_type, sha256, bytes FROM images WHERE id = $1";

/// Stores `image` inside the caller's transaction and returns its id.
pub(super) async fn insert(
    conn: &mut AnyConnection,
    image: &NewImage,
    actor: &str,
    now: i64,
) -> Result<i64, Error> {
    let size = i64::try_from(image.bytes.len())
        .map_err(|_| Error::Corrupt("an image larger than i64::MAX bytes".into()))?;
    let span = common::db::query_span(Backend::of_connection(conn), "INSERT", "images");
    let id = sqlx::query_scalar::<_, i64>(INSERT)
        .bind(image.kind.content_type())
        .bind(size)
        .bind(image.sha256.clone())
        .bind(image.bytes.clone())
        .bind(now)
        .bind(actor)
        .fetch_one(conn)
        .instrument(span)
        .await?;
    Ok(id)
}

impl Store {
    /// Image `id`; [`Error::ImageNotFound`] if there is none.
    pub async fn image(&self, id: i64) -> Result<StoredImage, Error> {
        let (id, content_type, sha256, bytes) =
            sqlx::query_as::<_, (i64, String, String, Vec<u8>)>(SELECT_BY_ID)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(Error::ImageNotFound(id))?;
        Ok(StoredImage {
            id,
            content_type,
            sha256,
            bytes,
        })
    }
}
