//! Shared test plumbing: a fresh database of each kind, the service on a real socket, and a
//! small HTTP client for its API. [`browser`] is a client for the admin pages.

#![allow(dead_code)] // each test file uses its own part of the helpers

pub mod browser;

use std::sync::{Arc, OnceLock};

use banner::Config;
use banner::auth::Auth;
use banner::auth::password::AdminAccount;
use banner::auth::rate_limit::RateLimiter;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use testkit::TestServer;

/// Runs each listed test once per database, as `<test>::sqlite` and `<test>::postgres`, so
/// every behaviour is checked on both. The PostgreSQL run skips when PostgreSQL is not installed,
/// unless `CI` is set (then it fails): run `CI=1 cargo test -p banner` to be sure it ran.
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$test(crate::support::TestDb::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = crate::support::TestDb::postgres().await {
                    super::$test(db).await;
                }
            }
        }
    )+};
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    /// Holds the SQLite file's folder; removed when the test ends.
    _dir: Option<TempDir>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = common::db::sqlite_url(&dir.path().join("banner.db"));
        Self {
            url,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> Option<Self> {
        let url = testkit::postgres::database().await?;
        Some(Self { url, _dir: None })
    }
}

/// The admin account of the tests.
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// The admin account, hashed once for all the tests of a binary (argon2 is slow on purpose).
pub fn admin_account() -> AdminAccount {
    static ACCOUNT: OnceLock<AdminAccount> = OnceLock::new();
    ACCOUNT
        .get_or_init(|| {
            AdminAccount::from_password(ADMIN_USER.into(), ADMIN_PASSWORD).expect("hashable")
        })
        .clone()
}

/// The configuration of the tests: the given database and the admin account.
pub fn config(db: &TestDb) -> Config {
    let mut config = Config::with_database(db.url.clone());
    config.admin = Some(admin_account());
    config
}

/// The banner service on `127.0.0.1:0`, and a client for it. Dropping it stops the service.
/// Writes are sent with the admin account's Basic credentials unless said otherwise.
pub struct Api {
    pub server: TestServer,
    http: reqwest::Client,
}

/// A response, taken apart.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The JSON body, or `Null` when there is none (204).
    pub body: Value,
    pub location: Option<String>,
}

impl Api {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(config(db)).await
    }

    /// The service with a configuration of the test's own.
    pub async fn start_with(config: Config) -> Self {
        let server = testkit::run_service(|listener, shutdown| {
            <banner::Banner as common::Service>::run(listener, config, shutdown)
        })
        .await;
        Self {
            server,
            http: reqwest::Client::new(),
        }
    }

    /// The service with a sign-in table of `capacity` entries, and its [`Auth`], through which
    /// a test can see how much the table holds.
    pub async fn start_with_sign_in_capacity(db: &TestDb, capacity: usize) -> (Self, Arc<Auth>) {
        let config = config(db);
        let store = banner::Store::connect(&config.database_url)
            .await
            .expect("the test database");
        let auth = Arc::new(Auth::with_limiter(&config, RateLimiter::new(capacity)));
        let mut state = banner::AppState::new(store, &config);
        state.auth = auth.clone();
        let server = testkit::serve(banner::app(state)).await;
        let api = Self {
            server,
            http: reqwest::Client::new(),
        };
        (api, auth)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, body: &Value) -> Reply {
        self.send(Method::POST, "/api/v1/banners", Some(body)).await
    }

    pub async fn put(&self, id: i64, body: &Value) -> Reply {
        self.send(Method::PUT, &format!("/api/v1/banners/{id}"), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a banner that must be accepted, and returns it.
    pub async fn create(&self, body: &Value) -> Value {
        let reply = self.post(body).await;
        assert_eq!(reply.status, 201, "creating {body}: {reply:?}");
        reply.body
    }

    /// All banners, as `GET /api/v1/banners` lists them.
    pub async fn all(&self) -> Vec<Value> {
        let reply = self.get("/api/v1/banners").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body.as_array().expect("a list").clone()
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let credentials = (method != Method::GET).then_some((ADMIN_USER, ADMIN_PASSWORD));
        self.send_as(method, path, body, credentials).await
    }

    /// A request with the given Basic credentials, or none.
    pub async fn send_as(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        credentials: Option<(&str, &str)>,
    ) -> Reply {
        let mut request = self.http.request(method, self.server.url(path));
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        reply(request).await
    }

    /// A request with headers of the test's own (and no credentials besides those).
    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (Reply, reqwest::header::HeaderMap) {
        let mut request = self.http.request(method, self.server.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the service answers");
        let headers = response.headers().clone();
        (reply_of(response).await, headers)
    }

    /// A request with a body that need not be JSON.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, self.server.url(path))
            .basic_auth(ADMIN_USER, Some(ADMIN_PASSWORD))
            .body(body.to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        reply(request).await
    }
}

async fn reply(request: reqwest::RequestBuilder) -> Reply {
    reply_of(request.send().await.expect("the service answers")).await
}

async fn reply_of(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().expect("an ASCII Location").to_string());
    let bytes = response.bytes().await.expect("a body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "status {status}: the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Reply {
        status,
        body,
        location,
    }
}

/// A banner request body.
pub fn banner(title: &str, platform: &str, slot: i64, starts_at: &str, ends_at: &str) -> Value {
    json!({
        "title": title,
        "platform": platform,
        "slot": slot,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "image_url": "https://cdn.example.com/banner.png",
        "link_url": "https://shop.example.com/sale",
    })
}
