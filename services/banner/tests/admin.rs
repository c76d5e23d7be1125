//! The admin pages over a real socket, on SQLite and on PostgreSQL: signing in, the calendar,
//! the banner forms and their errors, CSRF, and the audit history. Every rejected request is
//! followed by a check that the stored banners are exactly what they were.

#[macro_use]
mod support;

use serde_json::Value;
use support::browser::{Browser, Multipart};
use support::{Api, TestDb, banner};

const JUNE: &str = "2026-06-01T00:00:00Z";
const JULY: &str = "2026-07-01T00:00:00Z";

on_both_backends!(
    signing_in_opens_the_admin_pages_and_signing_out_closes_them,
    admin_pages_send_visitors_to_the_login_page,
    forms_without_the_right_csrf_token_are_403_and_change_nothing,
    the_calendar_draws_each_banner_in_its_row_with_escaped_titles,
    a_banner_created_through_the_form_is_stored_and_drawn,
    an_overlap_in_the_form_names_the_other_banner_and_stores_nothing,
    each_broken_rule_is_shown_next_to_its_field_and_stores_nothing,
    sql_shaped_input_in_the_form_is_stored_verbatim,
    editing_and_deleting_through_the_forms_keeps_a_history,
);

/// A signed-in browser.
async fn signed_in(api: &Api) -> Browser {
    let mut browser = Browser::new(api);
    browser.sign_in().await;
    browser
}

async fn signing_in_opens_the_admin_pages_and_signing_out_closes_them(db: TestDb) {
    let api = Api::start(&db).await;
    let mut browser = Browser::new(&api);

    let login = browser.get("/admin/login").await;
    assert_eq!(login.status, 200);
    assert!(
        login
            .body
            .contains("<form method=\"post\" action=\"/admin/login\"")
    );
    // The anonymous session that carries the login form's token: a cookie locked down.
    let set_cookie = login
        .headers
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .expect("ASCII");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }

    let csrf = login.csrf();
    let signed_in = browser
        .post_form(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("user", support::ADMIN_USER),
                ("password", support::ADMIN_PASSWORD),
                ("next", "/admin?view=month&start=2026-06-01"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{signed_in:?}");
    assert_eq!(signed_in.location(), "/admin?view=month&start=2026-06-01");

    let calendar = browser.get("/admin?view=month&start=2026-06-01").await;
    assert_eq!(calendar.status, 200, "{calendar:?}");
    assert!(calendar.body.contains("June 2026"), "{calendar:?}");
    assert!(calendar.body.contains(support::ADMIN_USER));
    assert_eq!(
        calendar.headers["cache-control"], "no-store",
        "pages carry tokens"
    );
    assert_eq!(calendar.headers["x-frame-options"], "DENY");
    assert!(
        calendar.headers["content-security-policy"]
            .to_str()
            .expect("ASCII")
            .contains("script-src 'self'")
    );

    // The login page of a signed-in admin goes straight on.
    assert_eq!(browser.get("/admin/login").await.status, 303);

    // A `next` pointing elsewhere is not followed after signing in (no open redirect).
    let mut other = Browser::new(&api);
    let form = other.get("/admin/login").await;
    let csrf = form.csrf();
    let away = other
        .post_form(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("user", support::ADMIN_USER),
                ("password", support::ADMIN_PASSWORD),
                ("next", "//evil.example/admin"),
            ],
        )
        .await;
    assert_eq!(away.location(), "/admin");

    let csrf = browser.csrf().await;
    let out = browser.post_form("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/admin/login"));
    let after = browser.get("/admin").await;
    assert_eq!(after.status, 303, "signed out: {after:?}");
}

async fn admin_pages_send_visitors_to_the_login_page(db: TestDb) {
    let api = Api::start(&db).await;
    let june = api.create(&banner("June", "desktop", 1, JUNE, JULY)).await;
    let id = june["id"].as_i64().expect("an id");
    let before = api.all().await;
    let mut visitor = Browser::new(&api);

    for path in [
        "/admin".to_string(),
        "/admin?view=month".to_string(),
        "/admin/banners/new?platform=mobile&slot=2&date=2026-06-03".to_string(),
        format!("/admin/banners/{id}"),
        format!("/admin/banners/{id}/edit"),
        format!("/admin/banners/{id}/delete"),
    ] {
        let page = visitor.get(&path).await;
        assert_eq!(page.status, 303, "{path}: {page:?}");
        let expected: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(
            page.location(),
            format!("/admin/login?next={expected}"),
            "{path}"
        );
    }
    // Posts without a session go to the login page too, and do nothing.
    let delete = visitor
        .post_form(&format!("/admin/banners/{id}/delete"), &[])
        .await;
    assert_eq!(
        (delete.status, delete.location()),
        (303, "/admin/login?next=%2Fadmin")
    );
    let form = Multipart::banner(
        "Sneaky",
        "mobile",
        "1",
        "2026-06-01T00:00",
        "2026-06-02T00:00",
    );
    let create = visitor.post_multipart("/admin/banners/new", &form).await;
    assert_eq!(create.status, 303);
    // A forged cookie is no session either.
    visitor.cookie = Some(format!(
        "banner_admin=v1|{}|99999999999|61646d696e",
        "a".repeat(32)
    ));
    assert_eq!(visitor.get("/admin").await.status, 303);
    assert_eq!(api.all().await, before);

    // The stylesheet and script are public: the login page needs them.
    let css = visitor.get("/admin/static/admin.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .expect("ASCII")
            .starts_with("text/css")
    );
    assert_eq!(visitor.get("/admin/static/admin.js").await.status, 200);
}

async fn forms_without_the_right_csrf_token_are_403_and_change_nothing(db: TestDb) {
    let api = Api::start(&db).await;
    let june = api.create(&banner("June", "desktop", 1, JUNE, JULY)).await;
    let id = june["id"].as_i64().expect("an id");
    let before = api.all().await;

    let mut admin = signed_in(&api).await;
    let mut other = signed_in(&api).await;
    let own = admin.csrf().await;
    let foreign = other.csrf().await;
    assert_ne!(own, foreign, "each session has its own token");

    let form = Multipart::banner(
        "Forged",
        "mobile",
        "2",
        "2026-06-01T00:00",
        "2026-06-02T00:00",
    );
    let delete = format!("/admin/banners/{id}/delete");
    let edit = format!("/admin/banners/{id}/edit");
    for token in [None, Some(""), Some("00ff"), Some(foreign.as_str())] {
        let with_token = |form: &Multipart| match token {
            Some(token) => form.clone().text("csrf", token),
            None => form.clone(),
        };
        for path in ["/admin/banners/new", edit.as_str()] {
            let page = admin.post_multipart(path, &with_token(&form)).await;
            assert_eq!(page.status, 403, "{path} with {token:?}: {page:?}");
            assert!(page.body.contains("security token"), "{page:?}");
        }
        let fields: Vec<(&str, &str)> = token.map(|t| ("csrf", t)).into_iter().collect();
        let page = admin.post_form(&delete, &fields).await;
        assert_eq!(page.status, 403, "delete with {token:?}: {page:?}");
        let page = admin.post_form("/admin/logout", &fields).await;
        assert_eq!(page.status, 403, "logout with {token:?}: {page:?}");
    }
    // Still signed in (the logouts were refused), and nothing changed.
    assert_eq!(admin.get("/admin").await.status, 200);
    assert_eq!(api.all().await, before);

    // The login form is protected as well.
    let mut fresh = Browser::new(&api);
    fresh.get("/admin/login").await;
    let login = fresh
        .post_form(
            "/admin/login",
            &[
                ("user", support::ADMIN_USER),
                ("password", support::ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(login.status, 403, "{login:?}");
    assert_eq!(fresh.get("/admin").await.status, 303, "not signed in");

    // With its own token, the same delete works.
    let page = admin.post_form(&delete, &[("csrf", &own)]).await;
    assert_eq!(page.status, 303, "{page:?}");
    assert!(api.all().await.is_empty());
}

async fn the_calendar_draws_each_banner_in_its_row_with_escaped_titles(db: TestDb) {
    let api = Api::start(&db).await;
    let script = "<script>alert(1)</script>";
    let evil = api
        .create(&banner(
            script,
            "desktop",
            2,
            "2026-06-10T09:30:00Z",
            "2026-06-12T00:00:00Z",
        ))
        .await;
    let evil_id = evil["id"].as_i64().expect("an id");
    let long = api
        .create(&banner(
            "Summer & more",
            "mobile",
            6,
            "2026-05-20T08:00:00Z",
            "2026-08-01T00:00:00Z",
        ))
        .await;
    let long_id = long["id"].as_i64().expect("an id");
    let mut admin = signed_in(&api).await;

    for view in ["week", "month", "2months"] {
        let page = admin
            .get(&format!("/admin?view={view}&start=2026-06-10"))
            .await;
        assert_eq!(page.status, 200, "{view}: {page:?}");
        assert!(!page.body.contains(script), "{view}: the title is escaped");
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
        );
        let row = page.calendar_row("desktop-2");
        assert!(
            row.contains(&format!("data-banner-id=\"{evil_id}\"")),
            "{view}: {row}"
        );
        assert!(
            row.contains("09:30"),
            "{view}: the start time is on the bar"
        );
        assert!(
            page.calendar_row("mobile-6")
                .contains(&format!("data-banner-id=\"{long_id}\""))
        );
        assert!(page.body.contains("Summer &#38; more"));
        for other in [
            "mobile-1",
            "mobile-2",
            "desktop-1",
            "desktop-3",
            "desktop-6",
        ] {
            assert!(
                !page.calendar_row(other).contains("data-banner-id"),
                "{view} {other}"
            );
        }
        assert_eq!(
            page.body.matches("class=\"cal-label").count(),
            12,
            "12 rows"
        );
    }

    // Week of Monday 8 June: the bar covers Wednesday and Thursday (columns 3 and 4); the long
    // banner is cut at both edges.
    let week = admin.get("/admin?view=week&start=2026-06-10").await;
    assert!(week.body.contains("8 Jun – 14 Jun 2026"), "{week:?}");
    assert!(
        week.calendar_row("desktop-2")
            .contains("grid-column: 3 / span 2")
    );
    let mobile = week.calendar_row("mobile-6");
    assert!(mobile.contains("clipped-start") && mobile.contains("clipped-end"));
    assert!(mobile.contains("grid-column: 1 / span 7"));
    // Navigation.
    assert!(
        week.body
            .contains("href=\"/admin?view=week&#38;start=2026-06-01\"")
    );
    assert!(
        week.body
            .contains("href=\"/admin?view=week&#38;start=2026-06-15\"")
    );
    // An empty cell links to a new banner for that slot and day.
    assert!(
        week.calendar_row("desktop-2")
            .contains("/admin/banners/new?platform=desktop&amp;slot=2&amp;date=2026-06-08")
    );
    let two = admin.get("/admin?view=2months&start=2026-06-10").await;
    assert!(two.body.contains("June – July 2026"));

    assert_eq!(admin.get("/admin").await.status, 200, "today's week");
    for bad in ["view=year", "start=June", "start=9999-12-31"] {
        let page = admin.get(&format!("/admin?{bad}")).await;
        assert_eq!(page.status, 400, "{bad}: {page:?}");
    }
}

async fn a_banner_created_through_the_form_is_stored_and_drawn(db: TestDb) {
    let api = Api::start(&db).await;
    let mut admin = signed_in(&api).await;

    // Clicking the empty cell of desktop slot 3 on 10 June opens a prefilled form.
    let form = admin
        .get("/admin/banners/new?platform=desktop&slot=3&date=2026-06-10")
        .await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("value=\"2026-06-10T00:00\""), "{form:?}");
    assert!(form.body.contains("value=\"2026-06-11T00:00\""));
    assert!(form.body.contains("<option value=\"desktop\" selected>"));
    assert!(form.body.contains("<option value=\"3\" selected>"));
    assert!(form.body.contains("UTC"), "the form says times are UTC");

    let post = Multipart::banner(
        "Flash sale",
        "desktop",
        "3",
        "2026-06-10T09:00",
        "2026-06-11T18:30",
    )
    .text("link_url", "https://shop.example.com/flash")
    .text("csrf", &form.csrf());
    let saved = admin.post_multipart("/admin/banners/new", &post).await;
    assert_eq!(saved.status, 303, "{saved:?}");

    let all = api.all().await;
    assert_eq!(all.len(), 1);
    let stored = &all[0];
    let id = stored["id"].as_i64().expect("an id");
    assert_eq!(stored["title"], "Flash sale");
    assert_eq!(stored["platform"], "desktop");
    assert_eq!(stored["slot"], 3);
    assert_eq!(stored["starts_at"], "2026-06-10T09:00:00Z");
    assert_eq!(stored["ends_at"], "2026-06-11T18:30:00Z");
    assert_eq!(stored["link_url"], "https://shop.example.com/flash");
    assert_eq!(stored["image_url"], Value::Null);
    assert_eq!(stored["created_by"], support::ADMIN_USER);
    assert_eq!(
        saved.location(),
        format!("/admin?view=week&start=2026-06-10&highlight={id}")
    );

    let calendar = admin.get(saved.location()).await;
    let row = calendar.calendar_row("desktop-3");
    assert!(row.contains(&format!("data-banner-id=\"{id}\"")), "{row}");
    assert!(row.contains("highlight"));
    assert!(row.contains("Flash sale"));
}

async fn an_overlap_in_the_form_names_the_other_banner_and_stores_nothing(db: TestDb) {
    let api = Api::start(&db).await;
    let summer = api
        .create(&banner("Summer sale", "desktop", 1, JUNE, JULY))
        .await;
    let summer_id = summer["id"].as_i64().expect("an id");
    let before = api.all().await;
    let mut admin = signed_in(&api).await;
    let csrf = admin.csrf().await;

    let post = Multipart::banner(
        "Flash sale",
        "desktop",
        "1",
        "2026-06-15T00:00",
        "2026-06-16T00:00",
    )
    .text("csrf", &csrf);
    let page = admin.post_multipart("/admin/banners/new", &post).await;
    assert_eq!(page.status, 422, "{page:?}");
    let error = page
        .field_error("starts_at")
        .expect("an error at the start");
    assert!(
        error.contains(&format!("href=\"/admin/banners/{summer_id}\"")),
        "{error}"
    );
    assert!(error.contains("Summer sale"), "{error}");
    assert!(
        error.contains("2026-06-01 00:00 to 2026-07-01 00:00 UTC"),
        "{error}"
    );
    // What was typed is still there.
    assert!(page.body.contains("value=\"Flash sale\""));
    assert!(page.body.contains("value=\"2026-06-15T00:00\""));
    assert_eq!(api.all().await, before);

    // The same through an edit of another banner: the edit is refused, both banners unchanged.
    let july = api
        .create(&banner("July", "desktop", 1, JULY, "2026-08-01T00:00:00Z"))
        .await;
    let before = api.all().await;
    let july_id = july["id"].as_i64().expect("an id");
    let post = Multipart::banner(
        "July",
        "desktop",
        "1",
        "2026-06-20T00:00",
        "2026-08-01T00:00",
    )
    .text("csrf", &csrf);
    let page = admin
        .post_multipart(&format!("/admin/banners/{july_id}/edit"), &post)
        .await;
    assert_eq!(page.status, 422, "{page:?}");
    assert!(
        page.field_error("starts_at")
            .is_some_and(|e| e.contains("Summer sale"))
    );
    assert_eq!(api.all().await, before);
}

async fn each_broken_rule_is_shown_next_to_its_field_and_stores_nothing(db: TestDb) {
    let api = Api::start(&db).await;
    api.create(&banner("Existing", "mobile", 1, JUNE, JULY))
        .await;
    let before = api.all().await;
    let mut admin = signed_in(&api).await;
    let csrf = admin.csrf().await;

    let post = Multipart::banner(
        "Keep me",
        "tablet",
        "7",
        "2026-06-10T00:00",
        "2026-06-09T00:00",
    )
    .text("link_url", "javascript:alert(1)")
    .text("csrf", &csrf);
    let page = admin.post_multipart("/admin/banners/new", &post).await;
    assert_eq!(page.status, 422, "{page:?}");
    let error = |field: &str| {
        page.field_error(field)
            .unwrap_or_else(|| panic!("no error for {field}:\n{}", page.body))
    };
    assert!(error("platform").contains("must be mobile or desktop"));
    assert_eq!(error("slot"), "must be between 1 and 6, got 7");
    assert_eq!(error("ends_at"), "must be after the start");
    assert!(error("link_url").contains("http or https"));
    assert_eq!(page.field_error("title"), None);
    assert!(page.body.contains("value=\"Keep me\""), "input is kept");
    assert!(page.body.contains("aria-invalid=\"true\""));

    let empty = Multipart::banner("", "mobile", "0", "", "soon").text("csrf", &csrf);
    let page = admin.post_multipart("/admin/banners/new", &empty).await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("title").as_deref(),
        Some("must not be empty")
    );
    assert_eq!(
        page.field_error("slot").as_deref(),
        Some("must be between 1 and 6, got 0")
    );
    assert_eq!(
        page.field_error("starts_at").as_deref(),
        Some("is required")
    );
    assert!(
        page.field_error("ends_at")
            .is_some_and(|e| e.contains("such as"))
    );

    let long = "x".repeat(201);
    let page = admin
        .post_multipart(
            "/admin/banners/new",
            &Multipart::banner(&long, "mobile", "2", "2026-06-01T00:00", "2026-06-02T00:00")
                .text("csrf", &csrf),
        )
        .await;
    assert_eq!(
        page.field_error("title").as_deref(),
        Some("must be at most 200 characters, got 201")
    );
    assert_eq!(api.all().await, before);

    // A body that is not a multipart form at all is refused too.
    let page = admin
        .post_form("/admin/banners/new", &[("csrf", &csrf), ("title", "x")])
        .await;
    assert_eq!(page.status, 400, "{page:?}");
    assert_eq!(api.all().await, before);
}

async fn sql_shaped_input_in_the_form_is_stored_verbatim(db: TestDb) {
    let api = Api::start(&db).await;
    let mut admin = signed_in(&api).await;
    let csrf = admin.csrf().await;
    let titles = [
        "Robert'); DROP TABLE banners;--",
        "' OR '1'='1",
        "\"; DELETE FROM audit_log; --",
    ];
    for (slot, title) in (1..).zip(titles) {
        let post = Multipart::banner(
            title,
            "mobile",
            &slot.to_string(),
            "2026-06-01T00:00",
            "2026-06-02T00:00",
        )
        .text("link_url", "https://shop.example.com/?q=' OR 1=1 --")
        .text("csrf", &csrf);
        let page = admin.post_multipart("/admin/banners/new", &post).await;
        assert_eq!(page.status, 303, "{title}: {page:?}");
    }
    let stored: Vec<String> = api
        .all()
        .await
        .iter()
        .map(|b| b["title"].as_str().expect("a title").to_string())
        .collect();
    assert_eq!(stored, titles);
    let first = &api.all().await[0];
    assert_eq!(first["link_url"], "https://shop.example.com/?q=' OR 1=1 --");
    // The audit log survived the third title too.
    let id = first["id"].as_i64().expect("an id");
    let page = admin.get(&format!("/admin/banners/{id}")).await;
    assert!(page.body.contains("action-create"), "{page:?}");
    // And the calendar's query string is not a way in either.
    let page = admin.get("/admin?start=2026-06-01'%20OR%20'1'%3D'1").await;
    assert_eq!(page.status, 400);
    assert_eq!(api.all().await.len(), titles.len());
}

async fn editing_and_deleting_through_the_forms_keeps_a_history(db: TestDb) {
    let api = Api::start(&db).await;
    let created = api
        .create(&banner("Summer sale", "desktop", 1, JUNE, JULY))
        .await;
    let id = created["id"].as_i64().expect("an id");
    let mut admin = signed_in(&api).await;

    let form = admin.get(&format!("/admin/banners/{id}/edit")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("value=\"Summer sale\""));
    assert!(form.body.contains("value=\"2026-06-01T00:00\""));
    assert!(
        form.body.contains("cdn.example.com/banner.png"),
        "the current image is shown"
    );

    // Change the title and slot, and remove the image.
    let post = Multipart::banner(
        "Summer sale, last days",
        "mobile",
        "4",
        "2026-06-20T00:00",
        "2026-07-01T00:00",
    )
    .text("remove_image", "on")
    .text("link_url", "https://shop.example.com/sale")
    .text("csrf", &form.csrf());
    let saved = admin
        .post_multipart(&format!("/admin/banners/{id}/edit"), &post)
        .await;
    assert_eq!(saved.status, 303, "{saved:?}");
    let edited = api.get(&format!("/api/v1/banners/{id}")).await.body;
    assert_eq!(edited["title"], "Summer sale, last days");
    assert_eq!(edited["platform"], "mobile");
    assert_eq!(edited["slot"], 4);
    assert_eq!(edited["image_url"], Value::Null);
    assert_eq!(edited["created_at"], created["created_at"]);
    assert_eq!(edited["updated_by"], support::ADMIN_USER);

    let page = admin.get(&format!("/admin/banners/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Summer sale, last days"));
    assert!(page.body.contains("action-create") && page.body.contains("action-update"));
    assert!(
        page.body
            .contains("title &#34;Summer sale&#34; → &#34;Summer sale, last days&#34;"),
        "{page:?}"
    );
    assert!(page.body.contains("image removed"));

    // Delete: a confirmation page first, then the post.
    let confirm = admin.get(&format!("/admin/banners/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete this banner?"));
    let deleted = admin
        .post_form(
            &format!("/admin/banners/{id}/delete"),
            &[("csrf", &confirm.csrf())],
        )
        .await;
    assert_eq!(deleted.status, 303, "{deleted:?}");
    assert!(api.all().await.is_empty());
    assert_eq!(api.get(&format!("/api/v1/banners/{id}")).await.status, 404);

    // The deleted banner's page is a 404 that still shows its whole history, newest first.
    let page = admin.get(&format!("/admin/banners/{id}")).await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains(&format!("Banner {id} was deleted")));
    let delete_at = page.body.find("action-delete").expect("the delete");
    let update_at = page.body.find("action-update").expect("the update");
    let create_at = page.body.find("action-create").expect("the create");
    assert!(
        delete_at < update_at && update_at < create_at,
        "newest first"
    );
    assert_eq!(page.body.matches("<td class=\"who\">admin</td>").count(), 3);

    // An id that never existed is a plain 404; a malformed one a 400.
    assert_eq!(admin.get("/admin/banners/424242").await.status, 404);
    assert_eq!(admin.get("/admin/banners/abc").await.status, 400);
    assert_eq!(admin.get("/admin/banners/424242/edit").await.status, 404);
}
