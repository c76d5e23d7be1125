//! Helpers shared by the ratings API tests: start ratings from environment variables, as the
//! binary does, on `127.0.0.1:0`, and call it.

use std::collections::HashMap;

use ratings::{Config, Ratings};
use serde_json::Value;
use testkit::TestServer;

/// ratings configured by `env`, serving on a port of its own. For v2 the database is migrated
/// before the first request is answered.
pub async fn start(env: &[(&str, &str)]) -> TestServer {
    let env: HashMap<&str, &str> = env.iter().copied().collect();
    let config = Config::from_env(&env).expect("the test configuration is valid");
    testkit::run_service(|listener, shutdown| {
        <Ratings as common::Service>::run(listener, config, shutdown)
    })
    .await
}

pub async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let response = reqwest::get(server.url(path))
        .await
        .expect("ratings answers");
    read(response).await
}

/// POSTs `body` as is, with no `Content-Type`, as a bare `curl -d` would.
pub async fn post(server: &TestServer, path: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .body(body.to_string())
        .send()
        .await
        .expect("ratings answers");
    read(response).await
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/json", "every answer is JSON");
    (status, response.json().await.expect("ratings answers JSON"))
}
