//! The in-process clients: each service's peer traits, answered by calling the peer's library.
//!
//! productpage reaches its peers through the traits of `productpage::clients`, and reviews
//! reaches ratings through `reviews::clients::RatingsClient`. In the split stack those traits are
//! implemented over HTTP (`HttpDetails`, `HttpReviews`, `HttpRatings`, `HttpBanner` in
//! productpage, `HttpRatingsClient` in reviews). Here is the *other* implementation of each, the
//! one the monolith plugs in:
//!
//! | trait                                 | network (split stack) | in process (monolith) |
//! |---------------------------------------|-----------------------|-----------------------|
//! | `productpage::clients::DetailsClient` | `HttpDetails`         | [`InProcessDetails`]  |
//! | `productpage::clients::ReviewsClient` | `HttpReviews`         | [`InProcessReviews`]  |
//! | `productpage::clients::RatingsClient` | `HttpRatings`         | [`InProcessRatings`]  |
//! | `productpage::clients::BannerClient`  | `HttpBanner`          | [`InProcessBanner`]   |
//! | `reviews::clients::RatingsClient`     | `HttpRatingsClient`   | [`InProcessRatings`]  |
//!
//! A call is a function call: no socket, no timeout, no retry, nothing to count as a network
//! request. productpage's traits speak in the JSON body of a 200 (that is what its page and its
//! API read), so the adapters for them serialise the library's value, exactly as the service's
//! handler would; reviews' trait speaks in values, so that adapter hands the ratings over as
//! they are. When the library answers an error, the adapter reports the status the service
//! would have answered, so the caller behaves the same in both stages.
//!
//! Nothing here decides anything about books, reviews, stars or banners: each adapter is a
//! translation from one crate's types to another's.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use productpage::clients::{
    BannerClient, DetailsClient, Failure, Fetch, Fetched, RatingsClient, ReviewsClient,
};
use reviews::clients::{RatingsByReviewer, RatingsError, RatingsFuture};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::Instrument as _;

/// How the adapters name the peer in the errors they report (where the network clients put the
/// URL they called).
pub const IN_PROCESS: &str = "in-process";

/// The span of an in-process call: named like the network call it stands for
/// (`GET /reviews/{id}`), so the two stages' traces compare, but an internal span, since no
/// request leaves the process and no context travels in headers.
fn call_span(peer: &'static str, route: &'static str) -> tracing::Span {
    tracing::info_span!(
        "in-process call",
        otel.name = %format_args!("GET {route}"),
        otel.kind = "internal",
        peer.service = peer,
    )
}

/// The JSON body of `value`, as the peer's handler would have sent it. Our library types always
/// serialise; if one ever did not, the caller sees a 500, as it would from the service.
fn json_body(peer: &str, value: &impl Serialize) -> Fetched {
    serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
        tracing::error!(peer, %error, "cannot serialise an in-process answer");
        Failure::status(StatusCode::INTERNAL_SERVER_ERROR)
    })
}

/// details, in process: the one book, from `details::book::BookDetails::for_product`.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcessDetails;

impl DetailsClient for InProcessDetails {
    fn details<'a>(&'a self, id: i64, _headers: &'a HeaderMap) -> Fetch<'a> {
        let span = call_span("details", "/details/{id}");
        let book = span.in_scope(|| details::book::BookDetails::for_product(id));
        Box::pin(async move { json_body("details", &book) }.instrument(span))
    }
}

/// reviews, in process: `reviews::AppState::product_reviews`, the function behind reviews'
/// `GET /reviews/{id}`, on a state itself wired to ratings in process.
#[derive(Clone)]
pub struct InProcessReviews {
    reviews: reviews::AppState,
}

impl InProcessReviews {
    pub fn new(reviews: reviews::AppState) -> Self {
        Self { reviews }
    }
}

impl ReviewsClient for InProcessReviews {
    fn reviews<'a>(&'a self, id: i64, headers: &'a HeaderMap) -> Fetch<'a> {
        Box::pin(
            async move {
                // The reviews service reads ids as 32-bit integers and answers 404 to any other
                // path; a larger id gets that same 404 here.
                let Ok(id) = i32::try_from(id) else {
                    return Err(Failure::status(StatusCode::NOT_FOUND));
                };
                let body = self.reviews.product_reviews(id, headers).await;
                json_body("reviews", &body)
            }
            .instrument(call_span("reviews", "/reviews/{id}")),
        )
    }
}

/// ratings, in process: `ratings::store::Store::get` on ratings v1's memory store. One value
/// serves both callers, productpage's JSON API and reviews, so they see the same ratings.
#[derive(Debug, Clone)]
pub struct InProcessRatings {
    store: Arc<ratings::store::Store>,
}

impl InProcessRatings {
    /// Ratings v1, as in Bookinfo's default deployment: Reviewer1 5 stars, Reviewer2 4.
    pub fn v1() -> Self {
        Self {
            store: Arc::new(ratings::store::Store::memory()),
        }
    }
}

impl RatingsClient for InProcessRatings {
    fn ratings<'a>(&'a self, id: i64, _headers: &'a HeaderMap) -> Fetch<'a> {
        Box::pin(
            async move {
                let ratings = self.store.get(id).await.map_err(|error| {
                    // The status the ratings service answers for this error.
                    Failure::status(error.into_response().status())
                })?;
                json_body("ratings", &ratings::model::ProductRatings { id, ratings })
            }
            .instrument(call_span("ratings", "/ratings/{id}")),
        )
    }
}

impl reviews::clients::RatingsClient for InProcessRatings {
    fn product_ratings(&self, product_id: i32, _headers: HeaderMap) -> RatingsFuture<'_> {
        Box::pin(
            async move {
                match self.store.get(i64::from(product_id)).await {
                    Ok(ratings) => Ok(ratings.into_iter().collect::<RatingsByReviewer>()),
                    Err(error) => Err(RatingsError::Status {
                        url: IN_PROCESS.to_string(),
                        status: error.into_response().status(),
                    }),
                }
            }
            .instrument(call_span("ratings", "/ratings/{id}")),
        )
    }
}

/// banner, in process: `banner::Store::active_at`, on the monolith's one database.
#[derive(Debug, Clone)]
pub struct InProcessBanner {
    store: banner::Store,
}

impl InProcessBanner {
    pub fn new(store: banner::Store) -> Self {
        Self { store }
    }
}

impl BannerClient for InProcessBanner {
    /// The question productpage's `HttpBanner` asks over HTTP: desktop, slot 1, now (the test
    /// `tests/in_process.rs` holds the two to the same answer). "None active" is the banner
    /// service's 404, which the page reads as "no strip".
    fn active_banner<'a>(&'a self, _headers: &'a HeaderMap) -> Fetch<'a> {
        Box::pin(
            async move {
                let slot = banner::model::Slot::try_from(1).map_err(banner_failure)?;
                let now = OffsetDateTime::now_utc();
                let banner = self
                    .store
                    .active_at(banner::model::Platform::Desktop, slot, now)
                    .await
                    .map_err(banner_failure)?;
                json_body("banner", &banner)
            }
            .instrument(call_span("banner", "/api/v1/banners/active")),
        )
    }
}

/// The status the banner service answers for `error`. A failure on banner's side (its database)
/// is logged here, as the service's error handler would log it.
fn banner_failure(error: banner::Error) -> Failure {
    let status = error.status();
    if status.is_server_error() {
        tracing::warn!(error = ?error, "banner failed; the page shows no banner");
    }
    Failure::status(status)
}
