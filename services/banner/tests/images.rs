//! Image uploads through the banner form and `/images/{id}`, over a real socket, on SQLite and
//! on PostgreSQL.

#[macro_use]
mod support;

use serde_json::Value;
use support::browser::{Browser, Multipart};
use support::{Api, TestDb, banner, config};

/// A 1x1 PNG.
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

on_both_backends!(
    an_uploaded_png_is_served_with_caching_headers,
    non_images_and_oversized_images_are_refused_and_store_nothing,
);

fn form(title: &str, csrf: &str) -> Multipart {
    Multipart::banner(
        title,
        "desktop",
        "1",
        "2026-06-01T00:00",
        "2026-06-02T00:00",
    )
    .text("csrf", csrf)
}

async fn an_uploaded_png_is_served_with_caching_headers(db: TestDb) {
    let api = Api::start(&db).await;
    let mut admin = Browser::new(&api);
    admin.sign_in().await;
    let csrf = admin.csrf().await;

    // The file name and the declared type say nothing; the bytes say PNG.
    let post = form("With image", &csrf).file(
        "image",
        "banner.dat",
        "application/octet-stream",
        PIXEL_PNG,
    );
    let saved = admin.post_multipart("/admin/banners/new", &post).await;
    assert_eq!(saved.status, 303, "{saved:?}");

    let stored = api.all().await.remove(0);
    let image_url = stored["image_url"]
        .as_str()
        .expect("an image URL")
        .to_string();
    // A full URL on this service's own address, since productpage's visitors load it from here.
    let prefix = api.server.url("/images/");
    assert!(
        image_url.starts_with(&prefix),
        "{image_url} should start with {prefix}"
    );

    let http = reqwest::Client::new();
    let response = http.get(&image_url).send().await.expect("the image");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let etag = headers["etag"].to_str().expect("ASCII").to_string();
    assert_eq!(etag.len(), 64 + 2, "a quoted SHA-256: {etag}");
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), PIXEL_PNG);

    // A browser holding the image revalidates for free.
    let again = http
        .get(&image_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("the image");
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.expect("no body").is_empty());

    // The upload is in the banner's history.
    let id = stored["id"].as_i64().expect("an id");
    let page = admin.get(&format!("/admin/banners/{id}")).await;
    assert!(page.body.contains("action-upload"), "{page:?}");
    let summary = format!("image/png, {} bytes", PIXEL_PNG.len());
    assert!(page.body.contains(&summary), "{page:?}");
    assert!(page.body.contains(&format!("src=\"{image_url}\"")));

    // Editing without a new file keeps the image; a new file gets a new id.
    let edit = format!("/admin/banners/{id}/edit");
    let kept = admin.post_multipart(&edit, &form("Renamed", &csrf)).await;
    assert_eq!(kept.status, 303, "{kept:?}");
    assert_eq!(api.all().await[0]["image_url"], image_url.as_str());
    let replaced = admin
        .post_multipart(
            &edit,
            &form("Renamed", &csrf).file("image", "b.png", "image/png", PIXEL_PNG),
        )
        .await;
    assert_eq!(replaced.status, 303);
    let new_url = api.all().await[0]["image_url"]
        .as_str()
        .expect("a URL")
        .to_string();
    assert_ne!(new_url, image_url);
    assert_eq!(
        http.get(&image_url).send().await.expect("old").status(),
        200,
        "images never change"
    );

    for (path, status) in [
        ("/images/424242", 404),
        ("/images/abc", 400),
        ("/images/0", 400),
    ] {
        let reply = api.get(path).await;
        assert_eq!(reply.status, status, "{path}: {reply:?}");
    }
}

async fn non_images_and_oversized_images_are_refused_and_store_nothing(db: TestDb) {
    let mut small = config(&db);
    small.max_image_bytes = 1000;
    let api = Api::start_with(small).await;
    api.create(&banner(
        "Existing",
        "mobile",
        1,
        "2026-06-01T00:00:00Z",
        "2026-07-01T00:00:00Z",
    ))
    .await;
    let before = api.all().await;
    let mut admin = Browser::new(&api);
    admin.sign_in().await;
    let csrf = admin.csrf().await;

    // Text that calls itself a PNG.
    let text = form("Fake", &csrf).file(
        "image",
        "banner.png",
        "image/png",
        b"just some text, honest",
    );
    let page = admin.post_multipart("/admin/banners/new", &text).await;
    assert_eq!(page.status, 422, "{page:?}");
    let error = page.field_error("image").expect("an image error");
    assert!(error.contains("not a PNG, JPEG, WebP or GIF"), "{error}");
    assert!(
        page.body.contains("value=\"Fake\""),
        "the other fields are kept"
    );

    // SVG is not accepted either: it can carry script.
    let svg = form("Vector", &csrf).file(
        "image",
        "a.svg",
        "image/svg+xml",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    );
    let page = admin.post_multipart("/admin/banners/new", &svg).await;
    assert_eq!(page.status, 422);

    // A PNG over the configured limit: an error next to the field.
    let mut big = PIXEL_PNG.to_vec();
    big.resize(1500, 0);
    let page = admin
        .post_multipart(
            "/admin/banners/new",
            &form("Big", &csrf).file("image", "big.png", "image/png", &big),
        )
        .await;
    assert_eq!(page.status, 422, "{page:?}");
    let error = page.field_error("image").expect("an image error");
    assert!(
        error.contains("too large: 1.4 KB where at most 1000 bytes"),
        "{error}"
    );
    assert!(
        page.body.contains("at most 1000 bytes"),
        "the form states the limit"
    );

    // A body far beyond any upload is refused before it is read: 413.
    let huge = vec![0x89u8; 200 * 1024];
    let page = admin
        .post_multipart(
            "/admin/banners/new",
            &form("Huge", &csrf).file("image", "huge.png", "image/png", &huge),
        )
        .await;
    assert_eq!(page.status, 413, "{page:?}");
    assert!(page.body.contains("too large"), "{page:?}");

    assert_eq!(api.all().await, before);
    assert_eq!(
        api.get("/images/1").await.status,
        404,
        "no image was stored"
    );
    assert_eq!(
        before[0]["image_url"],
        Value::String("https://cdn.example.com/banner.png".into())
    );
}
