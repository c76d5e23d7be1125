//! ratings v2 over a real socket, on a real SQLite file and on a real PostgreSQL database,
//! each test with a fresh database. Every scenario runs on both.
//!
//! The scenarios change the table behind the service's back, with plain SQL, to show that v2
//! really reads it (and how it reads it: first two rows by review id, whatever the product).

mod support;

use std::future::Future;

use serde_json::json;
use sqlx::AnyPool;
use support::{get, post, start};
use testkit::TestServer;

/// Runs `scenario` against ratings v2 on a fresh SQLite file.
async fn on_sqlite<F, Fut>(scenario: F)
where
    F: FnOnce(TestServer, AnyPool) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = common::db::sqlite_url(&dir.path().join("ratings.db"));
    run(&url, scenario).await;
}

/// Runs `scenario` against ratings v2 on a fresh PostgreSQL database (skipped, with a message,
/// where PostgreSQL is not installed and CI is not set).
async fn on_postgres<F, Fut>(scenario: F)
where
    F: FnOnce(TestServer, AnyPool) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(url) = testkit::postgres::database().await {
        run(&url, scenario).await;
    }
}

async fn run<F, Fut>(url: &str, scenario: F)
where
    F: FnOnce(TestServer, AnyPool) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = start(&[("SERVICE_VERSION", "v2"), ("DATABASE_URL", url)]).await;
    // ratings only answers once its migrations have run, so the table exists after this.
    assert_eq!(get(&server, "/health").await.0, 200);
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.expect("the test connects too");
    scenario(server, pool).await;
}

async fn sql(pool: &AnyPool, statement: &'static str) {
    sqlx::query(statement)
        .execute(pool)
        .await
        .expect("the test's SQL runs");
}

async fn seeded_rows_are_bookinfos_ratings_for_any_product(server: TestServer, _: AnyPool) {
    for id in [0, 1, 42] {
        assert_eq!(
            get(&server, &format!("/ratings/{id}")).await,
            (
                200,
                json!({"id": id, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})
            )
        );
    }
}

async fn the_first_two_rows_by_review_id_are_read(server: TestServer, pool: AnyPool) {
    sql(&pool, "UPDATE ratings SET rating = 1 WHERE review_id = 2").await;
    assert_eq!(
        get(&server, "/ratings/1").await.1["ratings"],
        json!({"Reviewer1": 5, "Reviewer2": 1})
    );
    sql(
        &pool,
        "INSERT INTO ratings (review_id, rating) VALUES (0, 3)",
    )
    .await;
    assert_eq!(
        get(&server, "/ratings/1").await.1["ratings"],
        json!({"Reviewer1": 3, "Reviewer2": 5})
    );
}

async fn missing_rows_count_as_zero_stars(server: TestServer, pool: AnyPool) {
    sql(&pool, "DELETE FROM ratings WHERE review_id = 2").await;
    assert_eq!(
        get(&server, "/ratings/1").await.1["ratings"],
        json!({"Reviewer1": 5, "Reviewer2": 0})
    );
    sql(&pool, "DELETE FROM ratings").await;
    assert_eq!(
        get(&server, "/ratings/1").await.1["ratings"],
        json!({"Reviewer1": 0, "Reviewer2": 0})
    );
}

async fn post_is_not_implemented(server: TestServer, _: AnyPool) {
    assert_eq!(
        post(&server, "/ratings/1", r#"{"Reviewer1": 1}"#).await,
        (
            501,
            json!({"error": "Post not implemented for database backed ratings"})
        )
    );
    assert_eq!(
        get(&server, "/ratings/1").await.1["ratings"]["Reviewer1"],
        5
    );
}

async fn a_failing_query_is_a_500_that_leaks_nothing(server: TestServer, pool: AnyPool) {
    sql(&pool, "DROP TABLE ratings").await;
    assert_eq!(
        get(&server, "/ratings/1").await,
        (
            500,
            json!({"error": "could not load ratings from database"})
        )
    );
    // The service itself is still up.
    assert_eq!(get(&server, "/health").await.0, 200);
}

#[tokio::test]
async fn sqlite_seeded_rows_are_bookinfos_ratings_for_any_product() {
    on_sqlite(seeded_rows_are_bookinfos_ratings_for_any_product).await;
}

#[tokio::test]
async fn postgres_seeded_rows_are_bookinfos_ratings_for_any_product() {
    on_postgres(seeded_rows_are_bookinfos_ratings_for_any_product).await;
}

#[tokio::test]
async fn sqlite_the_first_two_rows_by_review_id_are_read() {
    on_sqlite(the_first_two_rows_by_review_id_are_read).await;
}

#[tokio::test]
async fn postgres_the_first_two_rows_by_review_id_are_read() {
    on_postgres(the_first_two_rows_by_review_id_are_read).await;
}

#[tokio::test]
async fn sqlite_missing_rows_count_as_zero_stars() {
    on_sqlite(missing_rows_count_as_zero_stars).await;
}

#[tokio::test]
async fn postgres_missing_rows_count_as_zero_stars() {
    on_postgres(missing_rows_count_as_zero_stars).await;
}

#[tokio::test]
async fn sqlite_post_is_not_implemented() {
    on_sqlite(post_is_not_implemented).await;
}

#[tokio::test]
async fn postgres_post_is_not_implemented() {
    on_postgres(post_is_not_implemented).await;
}

#[tokio::test]
async fn sqlite_a_failing_query_is_a_500_that_leaks_nothing() {
    on_sqlite(a_failing_query_is_a_500_that_leaks_nothing).await;
}

#[tokio::test]
async fn postgres_a_failing_query_is_a_500_that_leaks_nothing() {
    on_postgres(a_failing_query_is_a_500_that_leaks_nothing).await;
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_stops_the_service_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // A folder where the database file should be: SQLite cannot open it.
    let url = common::db::sqlite_url(dir.path());
    let env = std::collections::HashMap::from([
        ("SERVICE_VERSION", "v2"),
        ("DATABASE_URL", url.as_str()),
    ]);
    let config = ratings::Config::from_env(&env).expect("valid configuration");
    let listener = testkit::listener().await;
    let err = <ratings::Ratings as common::Service>::run(listener, config, common::Shutdown::new())
        .await
        .expect_err("no database, no service");
    assert!(
        format!("{err:#}").contains("ratings v2 needs its database"),
        "{err:#}"
    );
}
