//! Banner images: what an upload must be, and how a stored image is served.
//!
//! **What is accepted.** PNG, JPEG, WebP and GIF, recognised by their first bytes (their
//! "magic numbers"), never by the file name or the `Content-Type` the browser sends: both are
//! chosen by the client and prove nothing. SVG is left out on purpose: it is XML that may carry
//! script. An upload may be at most `BANNER_MAX_IMAGE_BYTES` (2 MB unless configured).
//!
//! **Where they live.** In the database, beside the banners (table `images`): one backup, one
//! place, and every replica of the service sees every image. A file store or an object store
//! (S3) scales better for large media; for banner images of a few hundred kilobytes the
//! database is the simpler choice.
//!
//! **How they are served.** `GET /images/{id}`, public (productpage's visitors load them
//! straight from here). An image never changes: editing a banner's image uploads a new one with
//! a new id. So the answer may be cached by anyone for a year (`Cache-Control: public,
//! max-age=31536000, immutable`), and its `ETag` (the SHA-256 of the bytes) lets a browser
//! revalidate with `If-None-Match` and get a body-less 304. `X-Content-Type-Options: nosniff`
//! tells browsers to trust our `Content-Type` rather than guess from the bytes.
//!
//! **The image's address.** productpage runs on another origin and only renders absolute
//! http(s) image URLs, so a banner's `image_url` must be a full URL:
//! `BANNER_PUBLIC_URL/images/{id}`, or, when that is unset, `http://<Host of the upload
//! request>/images/{id}`: the address the admin used to reach this service, which is the one a
//! browser can reach it at too (on a laptop, the launcher's banner VIP).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::session::hex;
use crate::error::Error;

/// One year, the longest cache lifetime HTTP caches commonly honour.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// The image formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl ImageKind {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
        }
    }

    /// The format of `bytes`, from their first bytes; `None` when it is none of ours.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageKind::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else {
            None
        }
    }
}

/// How uploads are handled: the size limit and the base of image URLs.
#[derive(Debug, Clone)]
pub struct Uploads {
    /// `BANNER_MAX_IMAGE_BYTES`.
    pub max_bytes: usize,
    /// `BANNER_PUBLIC_URL`, without a trailing slash.
    pub public_url: Option<String>,
}

impl Uploads {
    /// The base of image URLs for an upload that came with `headers`: `BANNER_PUBLIC_URL`, or
    /// `http://<Host>`. `None` when neither is known (an HTTP/1.0 request without `Host`).
    pub fn base_url(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(url) = &self.public_url {
            return Some(url.clone());
        }
        let host = headers.get(header::HOST)?.to_str().ok()?;
        // Only a bare host[:port]: nothing that could smuggle a path, user or scheme into the URL.
        let authority: axum::http::uri::Authority = host.parse().ok()?;
        let plain = !host.contains('@') && authority.as_str() == host;
        plain.then(|| format!("http://{host}"))
    }
}

/// A checked upload, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImage {
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
    /// The SHA-256 of the bytes, hex: the `ETag`.
    pub sha256: String,
}

impl NewImage {
    /// `bytes` as an image, if they are one of the accepted formats and at most `max_bytes`.
    /// The error is a sentence for the form, next to the file field.
    pub fn check(bytes: Vec<u8>, max_bytes: usize) -> Result<Self, String> {
        if bytes.len() > max_bytes {
            return Err(too_large(bytes.len(), max_bytes));
        }
        let kind = ImageKind::sniff(&bytes).ok_or_else(|| {
            "this file is not a PNG, JPEG, WebP or GIF image (checked by its content, not its \
             name)"
                .to_string()
        })?;
        let sha256 = hex(&Sha256::digest(&bytes));
        Ok(Self {
            kind,
            bytes,
            sha256,
        })
    }
}

/// An image as stored.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub id: i64,
    pub content_type: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// The message for an image of `size` bytes over a limit of `max_bytes`.
pub fn too_large(size: usize, max_bytes: usize) -> String {
    format!(
        "the image is too large: {} where at most {} is allowed",
        describe_size(size),
        describe_size(max_bytes)
    )
}

/// `2 MB`, `1.5 KB`, `300 bytes`: a size for people, binary units as upload limits use them.
pub fn describe_size(bytes: usize) -> String {
    const KB: usize = 1024;
    const MB: usize = 1024 * KB;
    let scaled = |unit: usize| {
        let tenths = bytes * 10 / unit;
        if tenths.is_multiple_of(10) {
            format!("{}", tenths / 10)
        } else {
            format!("{}.{}", tenths / 10, tenths % 10)
        }
    };
    if bytes >= MB {
        format!("{} MB", scaled(MB))
    } else if bytes >= KB {
        format!("{} KB", scaled(KB))
    } else {
        format!("{bytes} bytes")
    }
}

/// `GET /images/{id}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/images/{id}", get(serve))
}

async fn serve(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let id = match raw.parse::<i64>() {
        Ok(id) if id > 0 => id,
        _ => return Err(not_an_id(&raw)),
    };
    let image = state.store.image(id).await?;
    let etag = format!("\"{}\"", image.sha256);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, CACHE_FOREVER.to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
    ];
    if if_none_match(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let content_type = HeaderValue::from_str(&image.content_type)
        .map_err(|_| Error::Corrupt(format!("image {id}: bad content type")))?;
    let mut response = (cache, image.bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}

fn not_an_id(raw: &str) -> Error {
    Error::invalid(
        "id",
        format!("must be a positive whole number, got {raw:?}"),
    )
}

/// Whether the browser's cached copy (`If-None-Match`) is this one.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest PNG: a 1x1 transparent pixel.
    const PIXEL_PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89,
    ];

    #[test]
    fn formats_are_recognised_by_their_first_bytes() {
        assert_eq!(ImageKind::sniff(PIXEL_PNG), Some(ImageKind::Png));
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a\x01\x00"), Some(ImageKind::Gif));
        assert_eq!(
            ImageKind::sniff(b"RIFF\x24\x00\x00\x00WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        for other in [
            &b""[..],
            b"hello, I am a text file.png",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"RIFF\x24\x00\x00\x00WAVEfmt ",
            b"\x89PNG",
        ] {
            assert_eq!(ImageKind::sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn uploads_are_checked_for_size_then_format() {
        let image = NewImage::check(PIXEL_PNG.to_vec(), 1000).expect("a small PNG");
        assert_eq!(image.kind.content_type(), "image/png");
        assert_eq!(image.sha256.len(), 64);
        let too_big = NewImage::check(PIXEL_PNG.to_vec(), 10).expect_err("over the limit");
        assert!(too_big.contains("too large"), "{too_big}");
        let text = NewImage::check(b"not an image".to_vec(), 1000).expect_err("text");
        assert!(text.contains("not a PNG, JPEG, WebP or GIF"), "{text}");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(describe_size(2 * 1024 * 1024), "2 MB");
        assert_eq!(describe_size(1536), "1.5 KB");
        assert_eq!(describe_size(300), "300 bytes");
    }

    #[test]
    fn the_base_url_comes_from_the_config_or_a_plain_host_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9084"));
        let derived = Uploads {
            max_bytes: 1,
            public_url: None,
        };
        assert_eq!(
            derived.base_url(&headers).as_deref(),
            Some("http://127.0.0.1:9084")
        );
        let configured = Uploads {
            max_bytes: 1,
            public_url: Some("https://banner.example.com".into()),
        };
        assert_eq!(
            configured.base_url(&headers).as_deref(),
            Some("https://banner.example.com")
        );
        for host in ["evil.example/x", "user@evil.example", ""] {
            headers.insert(header::HOST, HeaderValue::from_str(host).expect("a value"));
            assert_eq!(derived.base_url(&headers), None, "{host}");
        }
    }

    #[test]
    fn if_none_match_accepts_lists_and_weak_tags() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"other\", W/\"abc\""),
        );
        assert!(if_none_match(&headers, "\"abc\""));
        assert!(!if_none_match(&headers, "\"abd\""));
    }
}
