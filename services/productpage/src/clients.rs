//! How productpage reaches the services it calls: one small trait per peer.
//!
//! The page and the JSON API only ever talk to these traits. Today each has one implementation
//! that goes over the network ([`HttpDetails`], [`HttpReviews`], ...); the monolith stage of the
//! kit plugs in implementations that call the other services' libraries in the same process.
//! Splitting the monolith into services is then a change of wiring, not a second copy of the
//! page code.
//!
//! Every method answers the same way, as a [`Fetched`]: the peer's JSON body when it answered
//! 200, or a [`Failure`] carrying the status it answered instead (none if it never answered).
//! Like Bookinfo, productpage treats *any* status other than 200 as a failure.
//!
//! The network implementations carry Bookinfo's per-peer rules, all in [`HttpPeer::get`]:
//!
//! | peer    | timeout per attempt | attempts |
//! |---------|---------------------|----------|
//! | details | 3 s                 | 1        |
//! | reviews | 3 s                 | **2**    |
//! | ratings | 3 s                 | 1        |
//! | banner  | 1 s                 | 1        |
//!
//! and count every result in the `request_result` metric. Each attempt is a client span
//! (`common::client::span::PeerCall`) named by the peer's route, `GET /reviews/{id}`, and
//! every answer's failed hops are collected (`common::failed_hops`): the page a failure leaves
//! without stars or details then carries headers naming the hop that failed.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use bytes::Bytes;
use common::client::span::PeerCall;
use futures::future::BoxFuture;
use tracing::Instrument as _;

use crate::config::Config;
use crate::metrics::{Metrics, NO_RESPONSE};

/// What a peer call produced: the body of a 200 answer, or why there is none.
pub type Fetched = Result<Bytes, Failure>;

/// The future every client method returns. Boxed so the traits can be used as `dyn` objects.
pub type Fetch<'a> = BoxFuture<'a, Fetched>;

/// A peer call that did not produce a 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The status the peer answered, or `None` when there was no answer at all (connection
    /// refused, timeout, DNS failure).
    pub status: Option<StatusCode>,
}

impl Failure {
    /// The call got no response.
    pub const NO_RESPONSE: Failure = Failure { status: None };

    /// A response with a status other than 200.
    pub fn status(status: StatusCode) -> Self {
        Self {
            status: Some(status),
        }
    }

    /// The status to report downstream: the peer's own, or 500 when there was no response,
    /// as Bookinfo does.
    pub fn reported_status(self) -> StatusCode {
        self.status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The details service: `GET /details/{id}`.
pub trait DetailsClient: Send + Sync {
    fn details<'a>(&'a self, id: i64, headers: &'a HeaderMap) -> Fetch<'a>;
}

/// The reviews service: `GET /reviews/{id}`.
pub trait ReviewsClient: Send + Sync {
    fn reviews<'a>(&'a self, id: i64, headers: &'a HeaderMap) -> Fetch<'a>;
}

/// The ratings service: `GET /ratings/{id}` (only the JSON API calls it; the page gets its
/// ratings through reviews).
pub trait RatingsClient: Send + Sync {
    fn ratings<'a>(&'a self, id: i64, headers: &'a HeaderMap) -> Fetch<'a>;
}

/// The banner service: the active desktop banner of slot 1. "No banner is active" is a 404,
/// which, like any failure, simply means the page shows no banner.
pub trait BannerClient: Send + Sync {
    fn active_banner<'a>(&'a self, headers: &'a HeaderMap) -> Fetch<'a>;
}

/// The four peers, as the application state holds them.
#[derive(Clone)]
pub struct Clients {
    pub details: Arc<dyn DetailsClient>,
    pub reviews: Arc<dyn ReviewsClient>,
    pub ratings: Arc<dyn RatingsClient>,
    pub banner: Arc<dyn BannerClient>,
}

impl Clients {
    /// The network implementations, sharing one pooled HTTP client and `metrics`.
    pub fn network(config: &Config, metrics: Arc<Metrics>) -> reqwest::Result<Self> {
        let client = common::client::build("productpage", config.peer_connections)?;
        let peer = |app, base_url: &str, timeout, attempts| HttpPeer {
            client: client.clone(),
            base_url: base_url.to_string(),
            app,
            timeout,
            attempts,
            metrics: metrics.clone(),
        };
        let (urls, t) = (&config.peers, config.timeouts);
        Ok(Self {
            details: Arc::new(HttpDetails(peer("details", &urls.details, t.details, 1))),
            // Two attempts: Bookinfo's deliberate bug, kept on purpose. With a 3 s timeout, a
            // reviews service that hangs (the "ratings delay for jason" fault-injection task)
            // makes the page take about 6 s, which is the number Istio's docs explain.
            reviews: Arc::new(HttpReviews(peer("reviews", &urls.reviews, t.reviews, 2))),
            ratings: Arc::new(HttpRatings(peer("ratings", &urls.ratings, t.ratings, 1))),
            banner: Arc::new(HttpBanner(peer("banner", &urls.banner, t.banner, 1))),
        })
    }
}

/// One peer reached over HTTP, with its timeout and number of attempts.
#[derive(Debug)]
pub struct HttpPeer {
    client: reqwest::Client,
    base_url: String,
    /// The `destination_app` label of the metric.
    app: &'static str,
    timeout: Duration,
    attempts: u32,
    metrics: Arc<Metrics>,
}

impl HttpPeer {
    /// `GET <base_url><path>`, up to `attempts` times, stopping at the first 200. `route` is
    /// the path's template, which names the spans.
    async fn get(&self, route: &str, path: &str, headers: &HeaderMap) -> Fetched {
        let url = format!("{}{path}", self.base_url);
        let mut outcome = Err(Failure::NO_RESPONSE);
        for _ in 0..self.attempts {
            let call = PeerCall::start(self.app, &Method::GET, route);
            let span = call.span().clone();
            outcome = self.attempt(&url, &call, headers).instrument(span).await;
            if outcome.is_ok() {
                break;
            }
        }
        outcome
    }

    /// One try, as `call`. The timeout covers everything, from connecting to the last byte of
    /// the body.
    async fn attempt(&self, url: &str, call: &PeerCall, headers: &HeaderMap) -> Fetched {
        let sent = self
            .client
            .get(url)
            .headers(call.headers(headers))
            .timeout(self.timeout)
            .send()
            .await;
        if let Ok(response) = &sent {
            // A failed hop behind this peer, named by a sidecar, goes on in our own answer.
            common::failed_hops::collect(response.headers());
        }
        let outcome = match sent {
            Ok(response) if response.status() == StatusCode::OK => {
                call.answered(StatusCode::OK);
                response.bytes().await.map_err(|error| {
                    tracing::debug!(peer = self.app, %url, %error, "body not received");
                    call.failed(&error);
                    Failure::NO_RESPONSE
                })
            }
            Ok(response) => {
                let status = response.status();
                call.answered(status);
                tracing::debug!(peer = self.app, %url, %status, "peer answered an error");
                // Reading the (small) error body lets the connection go back to the pool.
                let _ = response.bytes().await;
                Err(Failure::status(status))
            }
            Err(error) => {
                tracing::debug!(peer = self.app, %url, %error, "no response");
                call.failed(&error);
                Err(Failure::NO_RESPONSE)
            }
        };
        let code = match &outcome {
            Ok(_) => StatusCode::OK.as_u16(),
            Err(failure) => failure.status.map_or(NO_RESPONSE, |s| s.as_u16()),
        };
        self.metrics.record(self.app, code);
        outcome
    }
}

/// details over HTTP.
#[derive(Debug)]
pub struct HttpDetails(HttpPeer);

impl DetailsClient for HttpDetails {
    fn details<'a>(&'a self, id: i64, headers: &'a HeaderMap) -> Fetch<'a> {
        Box::pin(async move {
            self.0
                .get("/details/{id}", &format!("/details/{id}"), headers)
                .await
        })
    }
}

/// reviews over HTTP.
#[derive(Debug)]
pub struct HttpReviews(HttpPeer);

impl ReviewsClient for HttpReviews {
    fn reviews<'a>(&'a self, id: i64, headers: &'a HeaderMap) -> Fetch<'a> {
        Box::pin(async move {
            self.0
                .get("/reviews/{id}", &format!("/reviews/{id}"), headers)
                .await
        })
    }
}

/// ratings over HTTP.
#[derive(Debug)]
pub struct HttpRatings(HttpPeer);

impl RatingsClient for HttpRatings {
    fn ratings<'a>(&'a self, id: i64, headers: &'a HeaderMap) -> Fetch<'a> {
        Box::pin(async move {
            self.0
                .get("/ratings/{id}", &format!("/ratings/{id}"), headers)
                .await
        })
    }
}

/// banner over HTTP.
#[derive(Debug)]
pub struct HttpBanner(HttpPeer);

/// The banner productpage shows: desktop platform, slot 1 (the top of the page).
const ACTIVE_BANNER_PATH: &str = "/api/v1/banners/active?platform=desktop&slot=1";
/// Its route, which names the span.
const ACTIVE_BANNER_ROUTE: &str = "/api/v1/banners/active";

impl BannerClient for HttpBanner {
    fn active_banner<'a>(&'a self, headers: &'a HeaderMap) -> Fetch<'a> {
        Box::pin(self.0.get(ACTIVE_BANNER_ROUTE, ACTIVE_BANNER_PATH, headers))
    }
}
