//! Text that does not show as itself, and years no schedule means, over a real socket on SQLite
//! and on PostgreSQL: control characters (NUL, BEL, a newline in a URL), text-direction
//! overrides such as U+202E, and years outside 2000 to 2100 are refused by the JSON API (400,
//! naming the field) and by the admin form (next to the field) alike, and nothing is stored.

#[macro_use]
mod support;

use serde_json::{Value, json};
use support::browser::{Browser, Multipart};
use support::{Api, TestDb, banner};

const JUNE: &str = "2026-06-01T00:00:00Z";
const JULY: &str = "2026-07-01T00:00:00Z";
const HIDDEN: &str = "must not contain control or text-direction characters, found";
const YEARS: &str = "must fall in the years 2000 to 2100 (UTC), got the year";

on_both_backends!(
    the_json_api_refuses_hidden_characters_and_far_off_years,
    the_form_refuses_hidden_characters_and_far_off_years,
);

async fn the_json_api_refuses_hidden_characters_and_far_off_years(db: TestDb) {
    let api = Api::start(&db).await;
    let june = api.create(&banner("June", "desktop", 1, JUNE, JULY)).await;
    let id = june["id"].as_i64().expect("an id");
    let before = api.all().await;
    let good = banner("Summer sale", "desktop", 2, JUNE, JULY);
    let with = |field: &str, value: &str| {
        let mut body = good.clone();
        body[field] = json!(value);
        body
    };
    let cases = [
        (with("title", "Sale\u{0}"), format!("title {HIDDEN} U+0000")),
        (with("title", "\u{7}Sale"), format!("title {HIDDEN} U+0007")),
        (
            with("title", "sale\u{202e}gnp.exe"),
            format!("title {HIDDEN} U+202E at character 5"),
        ),
        (
            with("title", "\u{2067}sale"),
            format!("title {HIDDEN} U+2067"),
        ),
        (
            with("link_url", "https://shop.example.com/\u{202e}sale"),
            format!("link_url {HIDDEN} U+202E"),
        ),
        (
            with("image_url", "https://cdn.example.com/a\n.png"),
            format!("image_url {HIDDEN} U+000A"),
        ),
        (
            with("starts_at", "0000-06-01T00:00:00Z"),
            format!("starts_at {YEARS} 0000"),
        ),
        (
            with("ends_at", "9999-01-01T00:00:00Z"),
            format!("ends_at {YEARS} 9999"),
        ),
    ];
    for (body, expected) in &cases {
        for reply in [api.post(body).await, api.put(id, body).await] {
            assert_eq!(reply.status, 400, "{body}: {reply:?}");
            let message = reply.body["error"].as_str().expect("an error message");
            assert!(
                message.starts_with(expected.as_str()),
                "{message:?} should start with {expected:?}"
            );
        }
    }
    assert_eq!(api.all().await, before, "nothing was stored or changed");

    // The edges of the window, and a right-to-left title with a direction mark, are fine.
    let mut edges = banner(
        "\u{5de}\u{5d1}\u{5e6}\u{5e2} 50%\u{200f}",
        "mobile",
        3,
        "2000-01-01T00:00:00Z",
        "2100-12-31T23:59:59Z",
    );
    edges["link_url"] = Value::Null;
    api.create(&edges).await;
}

async fn the_form_refuses_hidden_characters_and_far_off_years(db: TestDb) {
    let api = Api::start(&db).await;
    let before = api.all().await;
    let mut admin = Browser::new(&api);
    admin.sign_in().await;
    let csrf = admin.csrf().await;

    for (title, code) in [
        ("Sale\u{0}", "U+0000"),
        ("Sale\u{7}", "U+0007"),
        ("sale\u{202e}gnp.exe", "U+202E"),
    ] {
        let form = Multipart::banner(title, "mobile", "1", "2026-06-01T00:00", "2026-06-02T00:00")
            .text("csrf", &csrf);
        let page = admin.post_multipart("/admin/banners/new", &form).await;
        assert_eq!(page.status, 422, "{title:?}: {page:?}");
        let error = page.field_error("title").unwrap_or_default();
        assert!(error.starts_with(&format!("{HIDDEN} {code}")), "{error:?}");
    }

    let form = Multipart::banner(
        "Sale",
        "mobile",
        "1",
        "0000-06-01T00:00",
        "2101-01-01T00:00",
    )
    .text("csrf", &csrf);
    let page = admin.post_multipart("/admin/banners/new", &form).await;
    assert_eq!(page.status, 422, "{page:?}");
    assert_eq!(page.field_error("starts_at"), Some(format!("{YEARS} 0000")));
    assert_eq!(page.field_error("ends_at"), Some(format!("{YEARS} 2101")));
    assert_eq!(api.all().await, before, "nothing was stored");
}
