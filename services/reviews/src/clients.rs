//! How reviews reaches the ratings service.
//!
//! The handler asks a [`RatingsClient`] for a product's ratings and does not know how the
//! question travels. Here it travels over HTTP ([`HttpRatingsClient`]); the monolith stage of
//! the kit plugs in a client that calls the ratings code in the same process instead. Splitting
//! the monolith into services is then a change of wiring, not a second copy of reviews.
//!
//! The network client keeps Bookinfo's rules for this call: one attempt, no retries, and a
//! timeout that covers the whole call, from connecting to reading the last byte. The call is a
//! client span, `GET /ratings/{id}` (`common::client::span::PeerCall`), whose context the
//! request carries, and the hops its answer names as failed are collected
//! (`common::failed_hops`), for reviews' answer to pass on.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use common::client::span::PeerCall;
use serde::Deserialize;
use tracing::Instrument as _;

/// Stars per reviewer name, e.g. `{"Reviewer1": 5, "Reviewer2": 4}`.
pub type RatingsByReviewer = HashMap<String, i64>;

/// The future a [`RatingsClient`] returns. It is boxed so that the trait can be used as
/// `Arc<dyn RatingsClient>`: the state then holds *some* client without naming its type.
pub type RatingsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RatingsByReviewer, RatingsError>> + Send + 'a>>;

/// Something that can tell reviews the ratings of a product.
pub trait RatingsClient: Send + Sync {
    /// The ratings of `product_id`. `headers` are the ones to pass on (trace context and
    /// `end-user`, already picked by `common::propagation::forwarded`).
    fn product_ratings(&self, product_id: i32, headers: HeaderMap) -> RatingsFuture<'_>;
}

/// Why no ratings came back. Every case ends the same way for the user (the reviews show
/// "Ratings service is currently unavailable"); the cases exist for the log line.
#[derive(Debug, thiserror::Error)]
pub enum RatingsError {
    #[error("no complete answer from {url} within {timeout:?}")]
    TimedOut { url: String, timeout: Duration },
    #[error("cannot call {url}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("{url} answered with status {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url} answered with a body that is not ratings JSON")]
    BadBody { url: String, source: reqwest::Error },
}

/// The part of ratings' answer reviews reads: `{"id": 0, "ratings": {"Reviewer1": 5, ...}}`.
#[derive(Debug, Deserialize)]
struct RatingsResponse {
    ratings: RatingsByReviewer,
}

/// Calls ratings over HTTP: `GET {base_url}/ratings/{id}`.
#[derive(Debug, Clone)]
pub struct HttpRatingsClient {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl HttpRatingsClient {
    /// A client for the ratings service at `base_url` (`http://host:port`), sharing the pooled
    /// `http` client, giving up on each call after `timeout`.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>, timeout: Duration) -> Self {
        Self {
            http,
            base_url: base_url.into(),
            timeout,
        }
    }

    async fn fetch(
        &self,
        product_id: i32,
        headers: HeaderMap,
    ) -> Result<RatingsByReviewer, RatingsError> {
        let call = PeerCall::start("ratings", &Method::GET, "/ratings/{id}");
        let span = call.span().clone();
        let fetched = self.send(product_id, &call, headers).instrument(span).await;
        match &fetched {
            Ok(_) => call.answered(StatusCode::OK),
            Err(RatingsError::Status { status, .. }) => call.answered(*status),
            Err(error) => call.failed(error),
        }
        fetched
    }

    async fn send(
        &self,
        product_id: i32,
        call: &PeerCall,
        headers: HeaderMap,
    ) -> Result<RatingsByReviewer, RatingsError> {
        let url = format!("{}/ratings/{product_id}", self.base_url);
        let timeout = self.timeout;
        // A timeout while connecting, waiting or reading the body all mean the same thing here.
        let failed = |url: String, source: reqwest::Error, bad_body: bool| {
            if source.is_timeout() {
                RatingsError::TimedOut { url, timeout }
            } else if bad_body {
                RatingsError::BadBody { url, source }
            } else {
                RatingsError::Unreachable { url, source }
            }
        };
        let response = match self
            .http
            .get(&url)
            .headers(call.headers(&headers))
            .timeout(timeout)
            .send()
            .await
        {
            Ok(response) => response,
            Err(source) => return Err(failed(url, source, false)),
        };
        // A failed hop to ratings, named by a sidecar, goes on in reviews' own answer.
        common::failed_hops::collect(response.headers());
        // Bookinfo accepts exactly 200: any other status, even another 2xx, means no stars.
        if response.status() != StatusCode::OK {
            let status = response.status();
            return Err(RatingsError::Status { url, status });
        }
        match response.json::<RatingsResponse>().await {
            Ok(body) => Ok(body.ratings),
            Err(source) => Err(failed(url, source, true)),
        }
    }
}

impl RatingsClient for HttpRatingsClient {
    fn product_ratings(&self, product_id: i32, headers: HeaderMap) -> RatingsFuture<'_> {
        Box::pin(self.fetch(product_id, headers))
    }
}
