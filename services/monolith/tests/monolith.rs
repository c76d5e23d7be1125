//! The monolith over a real socket: one listener serving the book page, the products API and
//! the banner API, every part answered in process, one database.

mod support;

use serde_json::json;
use support::{App, ratings_on};

fn black(stars: &[u32]) -> Vec<(u32, String)> {
    stars.iter().map(|&s| (s, "black".to_string())).collect()
}

#[tokio::test]
async fn the_book_page_has_details_reviews_and_the_same_black_stars_every_time() {
    let app = App::sqlite(&[("HOSTNAME", "monolith")]).await;
    // One version of reviews: refreshing never changes the stars, there is nothing to route to.
    for _ in 0..5 {
        let (status, page) = app.get("/productpage").await;
        assert_eq!(status, 200);
        assert!(page.contains("The Comedy of Errors"), "{page}");
        assert!(page.contains("PublisherA"), "details are shown: {page}");
        assert!(
            page.contains("Reviewer1") && page.contains("Reviewer2"),
            "{page}"
        );
        assert_eq!(ratings_on(&page), black(&[5, 4]), "{page}");
        assert!(page.contains("Reviews served by: monolith"), "{page}");
    }
}

#[tokio::test]
async fn a_banner_created_through_its_own_api_shows_on_its_own_page() {
    let app = App::sqlite(&[]).await;
    let (status, page) = app.get("/productpage").await;
    assert_eq!(status, 200);
    assert!(!page.contains("data-banner"), "no banner yet: {page}");
    let (status, _) = app
        .get_json("/api/v1/banners/active?platform=desktop&slot=1")
        .await;
    assert_eq!(status, 404);

    let banner = app.create_banner("Monolith launch week").await;

    let (status, active) = app
        .get_json("/api/v1/banners/active?platform=desktop&slot=1")
        .await;
    assert_eq!(status, 200);
    assert_eq!(active, banner);
    let (_, page) = app.get("/productpage").await;
    assert!(page.contains("Monolith launch week"), "{page}");
}

#[tokio::test]
async fn the_products_api_answers_from_the_libraries() {
    let app = App::sqlite(&[]).await;
    let (status, products) = app.get_json("/api/v1/products").await;
    assert_eq!(status, 200);
    assert_eq!(products[0]["title"], "The Comedy of Errors");

    let (status, book) = app.get_json("/api/v1/products/0").await;
    assert_eq!(status, 200);
    let expected =
        serde_json::to_value(details::book::BookDetails::for_product(0)).expect("serialisable");
    assert_eq!(book, expected);

    let (status, reviews) = app.get_json("/api/v1/products/0/reviews").await;
    assert_eq!(status, 200);
    assert_eq!(
        reviews["reviews"][0]["rating"],
        json!({"stars": 5, "color": "black"})
    );
    assert_eq!(
        reviews["reviews"][1]["rating"],
        json!({"stars": 4, "color": "black"})
    );

    let (status, ratings) = app.get_json("/api/v1/products/0/ratings").await;
    assert_eq!(status, 200);
    assert_eq!(
        ratings,
        json!({"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})
    );

    let (status, error) = app.get_json("/api/v1/products/zero").await;
    assert_eq!(status, 400);
    assert_eq!(error, json!({"error": "Invalid product id"}));
}

#[tokio::test]
async fn one_version_of_reviews_chosen_at_start_by_the_environment() {
    let v1 = App::sqlite(&[("ENABLE_RATINGS", "false")]).await;
    let (_, page) = v1.get("/productpage").await;
    assert!(page.contains("Reviewer1"), "{page}");
    assert_eq!(ratings_on(&page), vec![], "no stars: {page}");

    let v3 = App::sqlite(&[("STAR_COLOR", "red")]).await;
    let (_, page) = v3.get("/productpage").await;
    assert_eq!(
        ratings_on(&page),
        vec![(5, "red".to_string()), (4, "red".to_string())]
    );
}

#[tokio::test]
async fn each_path_reaches_the_library_that_owns_it() {
    let app = App::sqlite(&[]).await;
    // The monolith's own health check, not productpage's nor banner's.
    let (status, health) = app.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health, json!({"status": "Monolith is healthy"}));
    // banner's router: its id check and its JSON errors.
    let (status, error) = app.get_json("/api/v1/banners/zero").await;
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("id ")),
        "{error}"
    );
    // productpage's router: assets, the landing page, its JSON 404 for anything unknown.
    let (status, css) = app.get("/static/css/bookinfo.css").await;
    assert_eq!(status, 200);
    assert!(!css.is_empty());
    let (status, landing) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(
        landing.contains("in process: the details library"),
        "{landing}"
    );
    let (status, error) = app.get_json("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(error["error"].is_string(), "{error}");
}

#[tokio::test]
async fn the_one_database_can_be_postgresql() {
    let Some(url) = testkit::postgres::database().await else {
        return;
    };
    let app = App::start(&url, &[]).await;
    app.create_banner("Stored in PostgreSQL").await;
    let (_, page) = app.get("/productpage").await;
    assert!(page.contains("Stored in PostgreSQL"), "{page}");
}

#[tokio::test]
async fn the_banner_admin_lives_in_the_same_process_and_writes_need_the_admin() {
    let app = App::sqlite(&[]).await;
    let (status, login) = app.get("/admin/login").await;
    assert_eq!(status, 200);
    assert!(login.contains("<form"), "{login}");
    let (status, css) = app.get("/admin/static/admin.css").await;
    assert_eq!(status, 200);
    assert!(!css.is_empty());

    let refused = app
        .http
        .post(app.url("/api/v1/banners"))
        .json(&json!({"title": "No credentials"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status(), 401);
    let (status, _) = app.get_json("/api/v1/banners").await;
    assert_eq!(status, 200, "reading stays open");
}
