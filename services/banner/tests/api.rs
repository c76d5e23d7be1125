//! banner over a real socket, on SQLite and on PostgreSQL: every test below runs once per
//! database (see `on_both_backends!`).

#[macro_use]
mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Api, TestDb, banner};

const JUNE: &str = "2026-06-01T00:00:00Z";
const JULY: &str = "2026-07-01T00:00:00Z";
const AUGUST: &str = "2026-08-01T00:00:00Z";

on_both_backends!(
    health_reports_healthy,
    crud_round_trip,
    list_filters,
    active_lookup,
    each_validation_error_names_its_field,
    overlaps_are_409s_that_name_the_conflicting_banner,
    adjacent_banners_do_not_overlap,
    a_put_that_overlaps_is_a_409_and_changes_nothing,
    a_banner_can_move_within_its_own_time_range,
    concurrent_overlapping_posts_let_exactly_one_in,
    sql_shaped_input_is_stored_verbatim_and_harmless,
    data_survives_a_restart,
    errors_are_json,
    a_lost_database_is_a_503_on_health_and_a_bare_500_elsewhere,
);

async fn health_reports_healthy(db: TestDb) {
    let api = Api::start(&db).await;
    let reply = api.get("/health").await;
    assert_eq!(
        (reply.status, reply.body),
        (200, json!({"status": "Banner is healthy"}))
    );
}

async fn crud_round_trip(db: TestDb) {
    let api = Api::start(&db).await;

    let created = api
        .post(&json!({
            "title": "Summer sale", "platform": "desktop", "slot": 1,
            "starts_at": "2026-06-01T02:00:00+02:00", "ends_at": JULY,
            "image_url": "https://cdn.example.com/summer.png"
        }))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let banner = created.body;
    let id = banner["id"].as_i64().expect("a numeric id");
    assert_eq!(created.location, Some(format!("/api/v1/banners/{id}")));
    // The fixed shape productpage reads: every field, times in UTC, absent URLs as null.
    let mut keys: Vec<&str> = banner
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "created_by",
            "ends_at",
            "id",
            "image_url",
            "link_url",
            "platform",
            "slot",
            "starts_at",
            "title",
            "updated_at",
            "updated_by"
        ]
    );
    assert_eq!(banner["created_by"], "admin");
    assert_eq!(banner["updated_by"], "admin");
    assert_eq!(banner["title"], "Summer sale");
    assert_eq!(banner["platform"], "desktop");
    assert_eq!(banner["slot"], 1);
    assert_eq!(banner["starts_at"], "2026-06-01T00:00:00Z");
    assert_eq!(banner["ends_at"], JULY);
    assert_eq!(banner["image_url"], "https://cdn.example.com/summer.png");
    assert_eq!(banner["link_url"], Value::Null);
    let created_at = banner["created_at"].as_str().expect("a time");
    assert!(
        time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{created_at}"
    );

    let fetched = api.get(&format!("/api/v1/banners/{id}")).await;
    assert_eq!((fetched.status, &fetched.body), (200, &banner));

    let replacement = json!({
        "title": "Summer sale, last days", "platform": "mobile", "slot": 3,
        "starts_at": "2026-06-20T00:00:00Z", "ends_at": JULY,
        "link_url": "https://shop.example.com/summer"
    });
    let replaced = api.put(id, &replacement).await;
    assert_eq!(replaced.status, 200, "{replaced:?}");
    assert_eq!(replaced.body["id"], id);
    assert_eq!(replaced.body["title"], "Summer sale, last days");
    assert_eq!(replaced.body["platform"], "mobile");
    assert_eq!(replaced.body["slot"], 3);
    assert_eq!(replaced.body["starts_at"], "2026-06-20T00:00:00Z");
    // A full replacement: the image_url left out of the body is gone.
    assert_eq!(replaced.body["image_url"], Value::Null);
    assert_eq!(replaced.body["link_url"], "https://shop.example.com/summer");
    assert_eq!(replaced.body["created_at"], banner["created_at"]);
    assert_eq!(
        api.get(&format!("/api/v1/banners/{id}")).await.body,
        replaced.body
    );

    let deleted = api.delete(&format!("/api/v1/banners/{id}")).await;
    assert_eq!((deleted.status, deleted.body), (204, Value::Null));

    let gone = api.get(&format!("/api/v1/banners/{id}")).await;
    assert_eq!(
        (gone.status, gone.body),
        (404, json!({"error": format!("banner {id} does not exist")}))
    );
    assert_eq!(
        api.delete(&format!("/api/v1/banners/{id}")).await.status,
        404
    );
    assert_eq!(api.put(id, &replacement).await.status, 404);
    assert!(api.all().await.is_empty());
}

async fn list_filters(db: TestDb) {
    let api = Api::start(&db).await;
    // Created out of order, to see the list sort them.
    api.create(&banner("m2", "mobile", 2, JUNE, JULY)).await;
    api.create(&banner("d1 july", "desktop", 1, JULY, AUGUST))
        .await;
    let d1_june = api
        .create(&banner("d1 june", "desktop", 1, JUNE, JULY))
        .await;
    api.create(&banner("d2", "desktop", 2, "2026-06-15T00:00:00Z", JULY))
        .await;

    assert_eq!(listed(&api, "").await, ["d1 june", "d1 july", "d2", "m2"]);
    assert_eq!(api.all().await[0], d1_june);
    assert_eq!(listed(&api, "?platform=mobile").await, ["m2"]);
    assert_eq!(
        listed(&api, "?platform=desktop&slot=1").await,
        ["d1 june", "d1 july"]
    );
    assert_eq!(listed(&api, "?slot=2").await, ["d2", "m2"]);
    // [from, to) is half-open on both sides: a banner ending at `from` or starting at `to` is out.
    assert_eq!(listed(&api, &format!("?from={JULY}")).await, ["d1 july"]);
    assert_eq!(
        listed(&api, "?to=2026-06-15T00:00:00Z").await,
        ["d1 june", "m2"]
    );
    assert_eq!(
        listed(&api, "?from=2026-06-30T00:00:00Z&to=2026-07-01T00:00:01Z").await,
        ["d1 june", "d1 july", "d2", "m2"]
    );
    assert_eq!(
        listed(
            &api,
            "?platform=desktop&from=2026-06-10T00:00:00Z&to=2026-06-20T00:00:00Z"
        )
        .await,
        ["d1 june", "d2"]
    );
    // A fraction of a second still counts: d1 july starts within [from, to).
    assert_eq!(
        listed(
            &api,
            "?slot=1&from=2026-06-30T23:59:59Z&to=2026-07-01T00:00:00.5Z"
        )
        .await,
        ["d1 june", "d1 july"]
    );
    assert_eq!(
        listed(&api, "?platform=mobile&slot=6").await,
        Vec::<String>::new()
    );

    for (query, field) in [
        ("?platform=tablet", "platform"),
        ("?slot=9", "slot"),
        ("?slot=two", "slot"),
        ("?from=yesterday", "from"),
        ("?to=2026-13-01T00:00:00Z", "to"),
        ("?from=2026-07-01T00:00:00Z&to=2026-06-01T00:00:00Z", "from"),
        ("?platfrom=mobile", "platfrom"),
    ] {
        let reply = api.get(&format!("/api/v1/banners{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        let message = reply.body["error"].as_str().expect("an error message");
        assert!(message.contains(field), "{query}: {message:?}");
    }
}

/// The titles `GET /api/v1/banners{query}` lists, in order.
async fn listed(api: &Api, query: &str) -> Vec<String> {
    let reply = api.get(&format!("/api/v1/banners{query}")).await;
    assert_eq!(reply.status, 200, "{query}: {reply:?}");
    reply
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|b| b["title"].as_str().expect("a title").to_string())
        .collect()
}

async fn active_lookup(db: TestDb) {
    let api = Api::start(&db).await;
    let june = api.create(&banner("June", "desktop", 1, JUNE, JULY)).await;
    api.create(&banner("Mobile June", "mobile", 1, JUNE, JULY))
        .await;

    let active = |query: String| {
        let api = &api;
        async move { api.get(&format!("/api/v1/banners/active?{query}")).await }
    };

    let inside = active("platform=desktop&slot=1&at=2026-06-15T12:00:00Z".into()).await;
    assert_eq!((inside.status, &inside.body), (200, &june));
    let at_start = active(format!("platform=desktop&slot=1&at={JUNE}")).await;
    assert_eq!((at_start.status, &at_start.body), (200, &june));
    let last_moment = active("platform=desktop&slot=1&at=2026-06-30T23:59:59.999Z".into()).await;
    assert_eq!((last_moment.status, &last_moment.body), (200, &june));

    let at_end = active(format!("platform=desktop&slot=1&at={JULY}")).await;
    assert_eq!(
        (at_end.status, at_end.body),
        (
            404,
            json!({"error": "no banner is active in desktop slot 1 at 2026-07-01T00:00:00Z"})
        )
    );
    let other_slot = active(format!("platform=desktop&slot=2&at={JUNE}")).await;
    assert_eq!(other_slot.status, 404);
    assert_eq!(
        other_slot.body["error"],
        "no banner is active in desktop slot 2 at 2026-06-01T00:00:00Z"
    );

    // Without `at`, "now": nothing is scheduled now in this test's calendar...
    let now_empty = active("platform=mobile&slot=4".into()).await;
    assert_eq!(now_empty.status, 404, "{now_empty:?}");
    // ...until a banner covering now is added.
    let always = api
        .create(&banner(
            "Always",
            "mobile",
            4,
            "2000-01-01T00:00:00Z",
            "2100-12-31T00:00:00Z",
        ))
        .await;
    let now = active("platform=mobile&slot=4".into()).await;
    assert_eq!((now.status, &now.body), (200, &always));

    for (query, message) in [
        ("slot=1", "platform is required"),
        ("platform=desktop", "slot is required"),
        ("platform=tv&slot=1", "platform must be mobile or desktop"),
        ("platform=desktop&slot=0", "slot must be between 1 and 6"),
        (
            "platform=desktop&slot=1&at=noon",
            "at must be an RFC 3339 time",
        ),
        ("platform=desktop&slot=1&when=now", "unknown field `when`"),
    ] {
        let reply = active(query.into()).await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        let got = reply.body["error"].as_str().expect("an error message");
        assert!(got.contains(message), "{query}: {got:?}");
    }
}

async fn each_validation_error_names_its_field(db: TestDb) {
    let api = Api::start(&db).await;
    let good = banner("Summer sale", "desktop", 1, JUNE, JULY);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().expect("an object").remove(field);
        body
    };
    let cases = [
        (
            with("platform", json!("tablet")),
            "platform must be mobile or desktop, got \"tablet\"",
        ),
        (
            with("slot", json!(0)),
            "slot must be between 1 and 6, got 0",
        ),
        (
            with("slot", json!(7)),
            "slot must be between 1 and 6, got 7",
        ),
        (with("slot", json!("1")), "slot"),
        (
            with("ends_at", json!(JUNE)),
            "starts_at must be before ends_at",
        ),
        (
            with("ends_at", json!("2026-05-01T00:00:00Z")),
            "starts_at must be before ends_at",
        ),
        (with("title", json!("")), "title must not be empty"),
        (with("title", json!("   \n")), "title must not be empty"),
        (
            with("title", json!("x".repeat(201))),
            "title must be at most 200 characters, got 201",
        ),
        (with("title", Value::Null), "title"),
        (
            with("image_url", json!("javascript:alert(1)")),
            "image_url must be an http or https URL",
        ),
        (
            with("image_url", json!("not a url")),
            "image_url must be an http or https URL",
        ),
        (
            with("link_url", json!("ftp://files.example.com/a")),
            "link_url must be an http or https URL",
        ),
        (
            with(
                "link_url",
                json!(format!("https://example.com/{}", "a".repeat(2000))),
            ),
            "link_url must be at most 2000 characters",
        ),
        (
            with("starts_at", json!("next monday")),
            "starts_at must be an RFC 3339 time",
        ),
        (
            with("starts_at", json!("2026-06-01 00:00:00")),
            "starts_at must be an RFC 3339 time",
        ),
        (with("ends_at", json!(1_780_000_000)), "ends_at"),
        (
            with("starts_at", json!("2026-06-01T00:00:00.250Z")),
            "starts_at must be a whole second",
        ),
        (without("title"), "missing field `title`"),
        (without("platform"), "missing field `platform`"),
        (without("slot"), "missing field `slot`"),
        (without("starts_at"), "missing field `starts_at`"),
        (without("ends_at"), "missing field `ends_at`"),
        (with("colour", json!("red")), "unknown field `colour`"),
        (with("id", json!(5)), "unknown field `id`"),
    ];
    for (body, expected) in &cases {
        for reply in [api.post(body).await, api.put(1, body).await] {
            assert_eq!(reply.status, 400, "{body}: {reply:?}");
            let message = reply.body["error"].as_str().expect("an error message");
            assert!(
                message.contains(expected),
                "{message:?} should name {expected:?}"
            );
        }
    }
    assert!(api.all().await.is_empty(), "nothing invalid was stored");

    // Optional URLs may be left out or null; a title of exactly 200 characters is fine.
    let mut minimal = without("image_url");
    minimal["link_url"] = Value::Null;
    minimal["title"] = json!("é".repeat(200));
    assert_eq!(api.post(&minimal).await.status, 201);
}

async fn overlaps_are_409s_that_name_the_conflicting_banner(db: TestDb) {
    let api = Api::start(&db).await;
    let summer = api
        .create(&banner("Summer sale", "desktop", 1, JUNE, JULY))
        .await;
    let id = &summer["id"];

    for (starts, ends) in [
        (JUNE, JULY),                                     // the same interval
        ("2026-06-10T00:00:00Z", "2026-06-20T00:00:00Z"), // inside it
        ("2026-05-01T00:00:00Z", AUGUST),                 // around it
        ("2026-05-01T00:00:00Z", "2026-06-01T00:00:01Z"), // one second into its start
        ("2026-06-30T23:59:59Z", AUGUST),                 // one second before its end
    ] {
        let reply = api
            .post(&banner("Competing", "desktop", 1, starts, ends))
            .await;
        assert_eq!(reply.status, 409, "[{starts}, {ends}): {reply:?}");
        assert_eq!(
            reply.body,
            json!({
                "error": format!("the schedule overlaps banner {id} \"Summer sale\" in desktop slot 1 (2026-06-01T00:00:00Z to 2026-07-01T00:00:00Z)"),
                "conflicting_banner": summer,
            })
        );
    }

    // The same time in another slot, or on the other platform, is no conflict.
    api.create(&banner("Slot 2", "desktop", 2, JUNE, JULY))
        .await;
    api.create(&banner("Mobile", "mobile", 1, JUNE, JULY)).await;
    assert_eq!(api.all().await.len(), 3);
}

async fn adjacent_banners_do_not_overlap(db: TestDb) {
    let api = Api::start(&db).await;
    api.create(&banner("June", "desktop", 1, JUNE, JULY)).await;
    // Ending exactly when the next one starts, on either side, is allowed.
    api.create(&banner("July", "desktop", 1, JULY, AUGUST))
        .await;
    api.create(&banner("May", "desktop", 1, "2026-05-01T00:00:00Z", JUNE))
        .await;
    assert_eq!(api.all().await.len(), 3);
}

async fn a_put_that_overlaps_is_a_409_and_changes_nothing(db: TestDb) {
    let api = Api::start(&db).await;
    let june = api.create(&banner("June", "desktop", 1, JUNE, JULY)).await;
    let july = api
        .create(&banner("July", "desktop", 1, JULY, AUGUST))
        .await;
    let id = july["id"].as_i64().expect("an id");

    let reply = api
        .put(
            id,
            &banner(
                "July, earlier",
                "desktop",
                1,
                "2026-06-25T00:00:00Z",
                AUGUST,
            ),
        )
        .await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.body["conflicting_banner"], june);
    assert!(
        reply.body["error"]
            .as_str()
            .expect("a message")
            .starts_with(&format!(
                "the schedule overlaps banner {} \"June\"",
                june["id"]
            )),
        "{reply:?}"
    );

    assert_eq!(api.get(&format!("/api/v1/banners/{id}")).await.body, july);
    assert_eq!(api.all().await, [june, july]);
}

async fn a_banner_can_move_within_its_own_time_range(db: TestDb) {
    let api = Api::start(&db).await;
    let summer = api
        .create(&banner("Summer", "desktop", 1, JUNE, AUGUST))
        .await;
    let id = summer["id"].as_i64().expect("an id");

    // Shrinking, shifting and growing overlap only the banner itself, which is no conflict.
    for (starts, ends) in [
        ("2026-06-10T00:00:00Z", JULY),
        ("2026-06-20T00:00:00Z", "2026-07-20T00:00:00Z"),
        (JUNE, "2026-09-01T00:00:00Z"),
    ] {
        let reply = api
            .put(id, &banner("Summer", "desktop", 1, starts, ends))
            .await;
        assert_eq!(reply.status, 200, "[{starts}, {ends}): {reply:?}");
        assert_eq!(reply.body["starts_at"], starts);
        assert_eq!(reply.body["ends_at"], ends);
    }
    assert_eq!(api.all().await.len(), 1);
}

async fn concurrent_overlapping_posts_let_exactly_one_in(db: TestDb) {
    let api = std::sync::Arc::new(Api::start(&db).await);
    // Twenty banners whose schedules all overlap one another (each starts an hour after the
    // previous one and lasts two days), sent all at once.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (api, barrier) = (api.clone(), barrier.clone());
        tasks.spawn(async move {
            let starts = time::OffsetDateTime::from_unix_timestamp(1_780_000_000 + i * 3600)
                .expect("a valid time");
            let ends = starts + time::Duration::days(2);
            let fmt = |t: time::OffsetDateTime| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .expect("formattable")
            };
            let body = banner(
                &format!("Racer {i}"),
                "desktop",
                3,
                &fmt(starts),
                &fmt(ends),
            );
            barrier.wait().await;
            api.post(&body).await
        });
    }
    let replies = tasks.join_all().await;

    let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    let refused: Vec<_> = replies.iter().filter(|r| r.status == 409).collect();
    assert_eq!(created.len(), 1, "{replies:#?}");
    assert_eq!(refused.len(), 19, "{replies:#?}");
    let winner = &created[0].body;
    for reply in refused {
        assert_eq!(&reply.body["conflicting_banner"], winner, "{reply:?}");
    }
    assert_eq!(api.all().await, std::slice::from_ref(winner));
}

async fn sql_shaped_input_is_stored_verbatim_and_harmless(db: TestDb) {
    let api = Api::start(&db).await;
    let titles = [
        "Robert'); DROP TABLE banners;--",
        "' OR '1'='1",
        "\"; DELETE FROM banners WHERE \"\"=\"",
        "100% off_ \\ $1 ?",
    ];
    let mut ids = Vec::new();
    for (slot, title) in (1..).zip(titles) {
        let created = api.create(&banner(title, "mobile", slot, JUNE, JULY)).await;
        assert_eq!(created["title"], title);
        ids.push(created["id"].as_i64().expect("an id"));
    }
    for (id, title) in ids.iter().zip(titles) {
        assert_eq!(
            api.get(&format!("/api/v1/banners/{id}")).await.body["title"],
            title
        );
    }
    assert_eq!(api.all().await.len(), titles.len(), "the table is intact");

    // In a query string, the same tricks are just invalid values.
    let reply = api
        .get("/api/v1/banners?platform=mobile'%20OR%20'1'%3D'1")
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let reply = api.get("/api/v1/banners/1%20OR%201=1").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(api.all().await.len(), titles.len());
}

async fn data_survives_a_restart(db: TestDb) {
    let first = Api::start(&db).await;
    let june = first
        .create(&banner("June", "desktop", 1, JUNE, JULY))
        .await;
    drop(first);

    let second = Api::start(&db).await;
    assert_eq!(second.all().await, std::slice::from_ref(&june));
    // The rule survives too: the migrations did not run twice, and the constraint still holds.
    assert_eq!(
        second
            .post(&banner("Again", "desktop", 1, JUNE, JULY))
            .await
            .status,
        409
    );
    let july = second
        .create(&banner("July", "desktop", 1, JULY, AUGUST))
        .await;
    assert!(july["id"].as_i64() > june["id"].as_i64());
}

async fn errors_are_json(db: TestDb) {
    let api = Api::start(&db).await;

    let unknown = api.get("/api/v2/banners").await;
    assert_eq!(
        (unknown.status, unknown.body),
        (404, json!({"error": "no route for GET /api/v2/banners"}))
    );

    let wrong_method = api.delete("/api/v1/banners").await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.body["error"].is_string());

    for (method, path) in [
        (Method::POST, "/api/v1/banners"),
        (Method::PUT, "/api/v1/banners/1"),
    ] {
        let malformed = api
            .send_raw(
                method.clone(),
                path,
                Some("application/json"),
                "{\"title\": ",
            )
            .await;
        assert_eq!(malformed.status, 400, "{malformed:?}");
        assert!(malformed.body["error"].is_string());

        let not_an_object = api
            .send_raw(method.clone(), path, Some("application/json"), "[1, 2]")
            .await;
        assert_eq!(not_an_object.status, 400, "{not_an_object:?}");

        let not_json = api
            .send_raw(method, path, Some("text/plain"), "title=Sale")
            .await;
        assert_eq!(not_json.status, 415, "{not_json:?}");
        assert!(not_json.body["error"].is_string());
    }

    for id in ["abc", "0", "-3", "1.5", "99999999999999999999"] {
        let reply = api.get(&format!("/api/v1/banners/{id}")).await;
        assert_eq!(reply.status, 400, "{id}: {reply:?}");
        assert_eq!(
            reply.body["error"],
            format!("id must be a positive whole number, got {id:?}")
        );
    }
    assert_eq!(api.get("/api/v1/banners/424242").await.status, 404);
}

/// Failures on our side: with its database gone, the service says it is unhealthy (503) and
/// answers a bare 500 elsewhere, telling the client nothing about the database.
async fn a_lost_database_is_a_503_on_health_and_a_bare_500_elsewhere(db: TestDb) {
    let store = banner::Store::connect(&db.url)
        .await
        .expect("the database is there");
    store.close().await;
    let config = banner::Config::with_database(db.url.clone());
    let server = testkit::serve(banner::app(banner::AppState::new(store, &config))).await;
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let request = http.get(server.url(path));
        async move {
            let response = request.send().await.expect("the service answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("a JSON body"))
        }
    };

    assert_eq!(
        get("/health").await,
        (503, json!({"error": "the database is unavailable"}))
    );
    assert_eq!(
        get("/api/v1/banners").await,
        (500, json!({"error": "internal error"}))
    );
    assert_eq!(
        get("/api/v1/banners/active?platform=desktop&slot=1").await,
        (500, json!({"error": "internal error"}))
    );
}
