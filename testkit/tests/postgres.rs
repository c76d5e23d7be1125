//! The throwaway PostgreSQL cluster starts and hands out separate databases.

use sqlx::Connection;

#[tokio::test]
async fn each_call_gets_its_own_working_database() {
    let Some(first) = testkit::postgres::database().await else {
        return;
    };
    let second = testkit::postgres::database()
        .await
        .expect("the cluster is already up");
    assert_ne!(first, second);
    let mut conn = sqlx::PgConnection::connect(&first)
        .await
        .expect("connect to the fresh database");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .expect("query");
    assert_eq!(one, 1);
}
