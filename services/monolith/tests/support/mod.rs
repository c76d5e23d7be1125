//! The monolith on `127.0.0.1:0` with a database of its own, and what the tests read on its pages.

#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::HashMap;

use common::Service;
use monolith::{Config, Monolith};
use serde_json::Value;
use tempfile::TempDir;
use testkit::TestServer;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The banner admin account every test monolith has: user `admin` (banner's default name), this
/// password, given the way an operator would, as a secret file (`BANNER_ADMIN_PASSWORD_FILE`).
pub const ADMIN_PASSWORD: &str = "monolith admin password";

/// A running monolith. Dropping it stops the server and removes its files.
pub struct App {
    pub server: TestServer,
    pub http: reqwest::Client,
    /// Holds the password file, and the SQLite file when there is one.
    _dir: TempDir,
}

impl App {
    /// The monolith on a fresh SQLite file, with `env` on top of it.
    pub async fn sqlite(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = common::db::sqlite_url(&dir.path().join("monolith.db"));
        Self::start_in(dir, &url, env).await
    }

    /// The monolith on the database at `url`.
    pub async fn start(url: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        Self::start_in(dir, url, env).await
    }

    async fn start_in(dir: TempDir, url: &str, env: &[(&str, &str)]) -> Self {
        let password_file = dir.path().join("admin-password");
        std::fs::write(&password_file, ADMIN_PASSWORD).expect("a password file");
        let mut vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.insert("DATABASE_URL".into(), url.into());
        vars.insert(
            "BANNER_ADMIN_PASSWORD_FILE".into(),
            password_file.display().to_string(),
        );
        let config = Config::from_env(&vars).expect("a valid configuration");
        let server =
            testkit::run_service(|listener, shutdown| Monolith::run(listener, config, shutdown))
                .await;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");
        Self {
            server,
            http,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// `GET path`: the status and the body as text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("answered");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    /// `GET path`, as JSON.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get(path).await;
        let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, json)
    }

    /// Creates a banner through the monolith's own banner API, as the admin, running from an
    /// hour ago to an hour from now in desktop slot 1 (the one productpage shows); returns its
    /// JSON.
    pub async fn create_banner(&self, title: &str) -> Value {
        let now = OffsetDateTime::now_utc();
        let body = serde_json::json!({
            "title": title,
            "platform": "desktop",
            "slot": 1,
            "starts_at": rfc3339(now - time::Duration::hours(1)),
            "ends_at": rfc3339(now + time::Duration::hours(1)),
        });
        let response = self
            .http
            .post(self.url("/api/v1/banners"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&body)
            .send()
            .await
            .expect("answered");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        assert_eq!(status, 201, "{text}");
        serde_json::from_str(&text).expect("a banner")
    }
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .expect("0 is a valid nanosecond")
        .format(&Rfc3339)
        .expect("formattable")
}

/// The ratings shown on a page, as (stars, colour) in page order: empty when there are none.
/// productpage marks each rating with `data-stars="N" data-color="C"`.
pub fn ratings_on(page: &str) -> Vec<(u32, String)> {
    page.split("data-stars=\"")
        .skip(1)
        .filter_map(|rest| {
            let (stars, rest) = rest.split_once('"')?;
            let color = rest.split_once("data-color=\"")?.1.split_once('"')?.0;
            Some((stars.parse().ok()?, color.to_string()))
        })
        .collect()
}
