//! Reading a posted banner form: `multipart/form-data`, field by field as it streams in. The
//! image is kept only up to the size limit; anything beyond is read and dropped, so the fields
//! after it still arrive.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use futures::StreamExt;

use super::fields::BannerFields;
use crate::auth::csrf;
use crate::error::Error;

/// Room for the form's text fields and multipart framing on top of the largest image: the body
/// limit of the form routes is the image limit plus this.
pub const FORM_OVERHEAD: usize = 64 * 1024;
/// The longest text field accepted, in bytes: far more than any rule allows, far less than a
/// body that would hurt.
const MAX_TEXT_BYTES: usize = 16 * 1024;
/// How much of a too-large body is read (and dropped) before answering 413. Answering while the
/// browser is still sending makes the connection close under it, and the browser then shows
/// "connection reset" instead of our page; reading a few megabytes more avoids that for the
/// usual too-large photo, and anything larger is cut off.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// The body limit of the form routes, for an image limit of `max_image` bytes.
pub fn body_limit(max_image: usize) -> usize {
    max_image.saturating_add(FORM_OVERHEAD)
}

/// What was posted, read but not yet checked.
#[derive(Debug, Default)]
pub struct Posted {
    pub fields: BannerFields,
    pub csrf: Option<String>,
    pub image: Option<PostedImage>,
}

/// A file sent in the image field.
#[derive(Debug)]
pub enum PostedImage {
    /// Its bytes, no more than the limit.
    Bytes(Vec<u8>),
    /// Larger than the limit: how large it was.
    TooLarge(usize),
}

/// Reads a posted banner form. [`Error::TooLarge`] when the body is beyond any upload, and
/// [`Error::BadForm`] when it is not a multipart form at all.
pub async fn read(request: Request, max_image: usize) -> Result<Posted, Error> {
    let limit = body_limit(max_image);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        drain(request).await;
        return Err(Error::TooLarge { limit: max_image });
    }
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge { limit: max_image }
        } else {
            Error::BadForm(e.body_text())
        }
    };
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| Error::BadForm(rejection.body_text()))?;
    let mut posted = Posted::default();
    while let Some(mut field) = multipart.next_field().await.map_err(too_large)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "image" {
            let mut bytes = Vec::new();
            let mut total = 0usize;
            while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                total = total.saturating_add(chunk.len());
                if total <= max_image {
                    bytes.extend_from_slice(&chunk);
                }
            }
            // A file input left empty still sends the field, with no file name and no bytes.
            posted.image = match total {
                0 => None,
                n if n > max_image => Some(PostedImage::TooLarge(n)),
                _ => Some(PostedImage::Bytes(bytes)),
            };
            continue;
        }
        let value = field.text().await.map_err(too_large)?;
        if value.len() > MAX_TEXT_BYTES {
            return Err(Error::BadForm(format!("the field {name:?} is too long")));
        }
        let fields = &mut posted.fields;
        match name.as_str() {
            csrf::FIELD => posted.csrf = Some(value),
            "title" => fields.title = value,
            "platform" => fields.platform = value,
            "slot" => fields.slot = value,
            "starts_at" => fields.starts_at = value,
            "ends_at" => fields.ends_at = value,
            "link_url" => fields.link_url = value,
            "remove_image" => fields.remove_image = !value.is_empty(),
            _ => {} // unknown fields are ignored, as browsers may add their own
        }
    }
    Ok(posted)
}

/// Reads and drops what is left of a body, up to [`DRAIN_LIMIT`].
async fn drain(request: Request) {
    let mut stream = request.into_body().into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        read = read.saturating_add(chunk.len());
        if read > DRAIN_LIMIT {
            break;
        }
    }
}
