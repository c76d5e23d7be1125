//! Test helpers: fake peers and a productpage wired to them, all on `127.0.0.1:0`.
//!
//! A [`Fake`] is a real HTTP server (an axum router) that answers every request with a fixed
//! status and JSON body, optionally after a delay, and records what it was sent, so a test can
//! check both what productpage shows and what it asked for.

#![allow(dead_code)] // each test file uses a different part of this module

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use productpage::{Config, Productpage};
use serde_json::{Value, json};
use testkit::TestServer;

/// A request a fake peer received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub uri: String,
    pub headers: HeaderMap,
}

/// A fake peer.
pub struct Fake {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _server: Option<TestServer>,
}

impl Fake {
    /// Answers every request with `status` and `body`.
    pub async fn json(status: u16, body: Value) -> Self {
        Self::slow(Duration::ZERO, status, body).await
    }

    /// Answers every request with `status` and `body` after `delay`.
    pub async fn slow(delay: Duration, status: u16, body: Value) -> Self {
        Self::answering(delay, status, body, &[]).await
    }

    /// Answers every request with `status`, `headers` and `body`: a sidecar's own failure
    /// answer, say, with the `x-sailkit-*` headers that name the hop that failed.
    pub async fn with_headers(
        status: u16,
        headers: &'static [(&'static str, &'static str)],
        body: Value,
    ) -> Self {
        Self::answering(Duration::ZERO, status, body, headers).await
    }

    async fn answering(
        delay: Duration,
        status: u16,
        body: Value,
        answer_headers: &'static [(&'static str, &'static str)],
    ) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let status = StatusCode::from_u16(status).expect("a valid status");
        let router = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let record = record.clone();
            let body = body.clone();
            async move {
                record.lock().expect("not poisoned").push(Seen {
                    uri: uri.to_string(),
                    headers,
                });
                tokio::time::sleep(delay).await;
                let mut response = (status, axum::Json(body)).into_response();
                for (name, value) in answer_headers {
                    response
                        .headers_mut()
                        .append(*name, HeaderValue::from_static(value));
                }
                response
            }
        });
        let server = testkit::serve(router).await;
        Self {
            addr: server.addr,
            seen,
            _server: Some(server),
        }
    }

    /// A peer that is down: its port refuses connections.
    pub async fn down() -> Self {
        let listener = testkit::listener().await;
        let addr = listener.local_addr().expect("bound");
        drop(listener);
        Self {
            addr,
            seen: Arc::new(Mutex::new(Vec::new())),
            _server: None,
        }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// How many requests were received so far.
    pub fn calls(&self) -> usize {
        self.seen.lock().expect("not poisoned").len()
    }

    /// The value of `header` in the `index`-th request.
    pub fn header(&self, index: usize, header: &str) -> Option<String> {
        let seen = self.seen();
        let request = seen.get(index)?;
        let value = request.headers.get(header)?;
        Some(value.to_str().expect("ASCII header").to_string())
    }
}

/// The four peers productpage calls.
pub struct Peers {
    pub details: Fake,
    pub reviews: Fake,
    pub ratings: Fake,
    pub banner: Fake,
}

impl Peers {
    /// Healthy Bookinfo peers: details v1, reviews v2 (black stars), ratings v1, no banner.
    pub async fn bookinfo() -> Self {
        Self {
            details: Fake::json(200, details_v1()).await,
            reviews: Fake::json(200, reviews(Some("black"), None)).await,
            ratings: Fake::json(
                200,
                json!({"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}),
            )
            .await,
            banner: Fake::json(404, json!({"error": "no active banner"})).await,
        }
    }

    /// The configuration that points productpage at these peers.
    pub fn config(&self) -> Config {
        let port = |fake: &Fake| fake.addr.port().to_string();
        let env: HashMap<String, String> = [
            ("DETAILS", &self.details),
            ("REVIEWS", &self.reviews),
            ("RATINGS", &self.ratings),
            ("BANNER", &self.banner),
        ]
        .into_iter()
        .flat_map(|(name, fake)| {
            [
                (format!("{name}_HOSTNAME"), "127.0.0.1".to_string()),
                (format!("{name}_SERVICE_PORT"), port(fake)),
            ]
        })
        .collect();
        Config::from_env(&env).expect("a valid test config")
    }
}

/// productpage, started through its `Service::run`, with `config`.
pub async fn productpage(config: Config) -> TestServer {
    testkit::run_service(|listener, shutdown| {
        <Productpage as common::Service>::run(listener, config, shutdown)
    })
    .await
}

/// productpage wired to `peers` with the default configuration.
pub async fn productpage_for(peers: &Peers) -> TestServer {
    productpage(peers.config()).await
}

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// `GET url` with `headers`: status and body text.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("productpage answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a text body"))
}

/// The details v1 body.
pub fn details_v1() -> Value {
    json!({
        "id": 0, "author": "William Shakespeare", "year": 1595, "type": "paperback",
        "pages": 200, "publisher": "PublisherA", "language": "English",
        "ISBN-10": "1234567890", "ISBN-13": "123-1234567890"
    })
}

/// A reviews body like Bookinfo's: with `color`, ratings 5 and 4 (v2/v3); without, no rating
/// (v1).
pub fn reviews(color: Option<&str>, cluster: Option<&str>) -> Value {
    let rating = |stars: u8| color.map(|c| json!({"stars": stars, "color": c}));
    let review = |reviewer: &str, text: &str, stars: u8| {
        let mut r = json!({"reviewer": reviewer, "text": text});
        if let Some(rating) = rating(stars) {
            r["rating"] = rating;
        }
        r
    };
    let version = match color {
        None => "v1",
        Some("red") => "v3",
        Some(_) => "v2",
    };
    json!({
        "id": "0",
        "podname": format!("reviews-{version}"),
        "clustername": cluster.unwrap_or("null"),
        "reviews": [
            review("Reviewer1", "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!", 5),
            review("Reviewer2", "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.", 4),
        ]
    })
}

/// The stars drawn for `reviewer`'s review: (filled, outlined, `data-color`), or `None` when the
/// review has no stars. Reads the page the way a test reads it: by the markup's classes.
pub fn stars(html: &str, reviewer: &str) -> Option<(usize, usize, String)> {
    let review = html
        .split("<figure class=\"review\">")
        .skip(1)
        .find(|part| part.contains(&format!("<span class=\"reviewer\">{reviewer}</span>")))
        .expect("the reviewer is on the page");
    let review = review.split("</figure>").next().unwrap_or_default();
    let rating = review.split("data-stars=\"").nth(1)?;
    let full = review.matches("class=\"star star-full\"").count();
    let empty = review.matches("class=\"star star-empty\"").count();
    let declared: usize = rating
        .split('"')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("data-stars is a number");
    assert_eq!(declared, full, "data-stars matches the filled stars drawn");
    let color = rating
        .split("data-color=\"")
        .nth(1)
        .and_then(|c| c.split('"').next())
        .expect("data-color is set")
        .to_string();
    Some((full, empty, color))
}
