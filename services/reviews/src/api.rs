//! The HTTP routes of reviews, and the state they share.
//!
//! | route               | answer                                                   |
//! |---------------------|----------------------------------------------------------|
//! | `GET /health`       | `{"status": "Reviews is healthy"}`                       |
//! | `GET /reviews/{id}` | the two reviews, rated when ratings are enabled; always 200 for an integer id, 404 otherwise |

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use common::propagation;
use serde_json::{Value, json};

use crate::clients::{HttpRatingsClient, RatingsClient};
use crate::config::Config;
use crate::error::Error;
use crate::review::{RATINGS_UNAVAILABLE, ReviewsBody, Stars};

/// What every request handler can see.
#[derive(Clone)]
pub struct AppState {
    config: Arc<Config>,
    /// `None` in v1: reviews never calls ratings then.
    ratings: Option<Arc<dyn RatingsClient>>,
}

impl AppState {
    /// The state for `config`, calling ratings over the network when ratings are enabled.
    /// Fails only if the HTTP client cannot be built from the environment's proxy/TLS settings.
    pub fn from_config(config: Config) -> reqwest::Result<Self> {
        if !config.enable_ratings {
            return Ok(Self {
                config: Arc::new(config),
                ratings: None,
            });
        }
        let http = common::client::build("reviews", config.peer_connections)?;
        let client = HttpRatingsClient::new(http, &config.ratings_url, config.ratings_timeout);
        Ok(Self::with_ratings_client(config, Arc::new(client)))
    }

    /// The state for `config` with a given ratings client: the monolith passes one that calls
    /// ratings in the same process, tests pass fakes. Unused when ratings are disabled.
    pub fn with_ratings_client(config: Config, ratings: Arc<dyn RatingsClient>) -> Self {
        let ratings = config.enable_ratings.then_some(ratings);
        Self {
            config: Arc::new(config),
            ratings,
        }
    }

    /// The reviews of product `id`: the body `GET /reviews/{id}` answers with. `headers` are
    /// the incoming request's; the ones to pass on to ratings are picked here. The route calls
    /// it, and so does the monolith, in-process, with no HTTP in between.
    pub async fn product_reviews(&self, id: i32, headers: &HeaderMap) -> ReviewsBody {
        let stars = match &self.ratings {
            None => Stars::Disabled,
            Some(ratings) => {
                // Pass the trace context and `end-user` on, so the mesh can stitch the trace and
                // match routing and fault rules on the user.
                let forwarded = propagation::forwarded(headers);
                match ratings.product_ratings(id, forwarded).await {
                    Ok(by_reviewer) => Stars::Known(by_reviewer),
                    Err(err) => {
                        // `{:#}` prints the whole chain of causes: the useful part ("connection
                        // refused", "operation timed out") is usually a few levels down.
                        let error = format!("{:#}", anyhow::Error::new(err));
                        tracing::warn!(
                            product_id = id,
                            %error,
                            "ratings failed; answering {RATINGS_UNAVAILABLE:?}"
                        );
                        Stars::Unavailable
                    }
                }
            }
        };
        let config = &self.config;
        ReviewsBody::new(
            id,
            config.pod_name.as_deref(),
            config.cluster_name.as_deref(),
            &config.star_color,
            &stars,
        )
    }
}

/// The reviews service's router.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(health))
        .route("/reviews/{id}", get(reviews))
        .with_state(state);
    common::http::with_json_fallbacks(router)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "Reviews is healthy"}))
}

async fn reviews(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<ReviewsBody>, Error> {
    // A segment that is not valid UTF-8 once decoded is no integer either.
    let raw = path.map(|Path(raw)| raw).unwrap_or_default();
    let id: i32 = raw.parse().map_err(|_| Error::NonIntegerId(raw))?;
    Ok(Json(state.product_reviews(id, &headers).await))
}

/// Router tests, without sockets: the ratings client is an in-process fake, plugged in the way
/// the monolith plugs in its own.
#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::clients::{RatingsByReviewer, RatingsError, RatingsFuture};

    /// Answers fixed ratings, or fails, and remembers the headers it was given.
    struct FixedRatings {
        answer: Option<RatingsByReviewer>,
        headers: Mutex<Vec<HeaderMap>>,
    }

    impl FixedRatings {
        fn new(answer: Option<RatingsByReviewer>) -> Arc<Self> {
            Arc::new(Self {
                answer,
                headers: Mutex::new(Vec::new()),
            })
        }
    }

    impl RatingsClient for FixedRatings {
        fn product_ratings(&self, _product_id: i32, headers: HeaderMap) -> RatingsFuture<'_> {
            self.headers.lock().expect("never poisoned").push(headers);
            let answer = self.answer.clone().ok_or(RatingsError::Status {
                url: "in-process".into(),
                status: StatusCode::SERVICE_UNAVAILABLE,
            });
            Box::pin(async move { answer })
        }
    }

    async fn call(state: AppState, request: Request<Body>) -> (StatusCode, Value) {
        let response = app(state).oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    fn get(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).expect("a request")
    }

    fn with_ratings() -> Config {
        Config {
            enable_ratings: true,
            star_color: "red".into(),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn an_in_process_client_supplies_the_stars() {
        let fake = FixedRatings::new(Some(RatingsByReviewer::from([
            ("Reviewer1".into(), 3),
            ("Reviewer2".into(), 2),
        ])));
        let state = AppState::with_ratings_client(with_ratings(), fake);
        let (status, body) = call(state, get("/reviews/4")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["reviews"][0]["rating"],
            json!({"stars": 3, "color": "red"})
        );
        assert_eq!(
            body["reviews"][1]["rating"],
            json!({"stars": 2, "color": "red"})
        );
    }

    #[tokio::test]
    async fn a_failing_client_means_no_stars_but_still_200() {
        let state = AppState::with_ratings_client(with_ratings(), FixedRatings::new(None));
        let (status, body) = call(state, get("/reviews/4")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["reviews"][1]["rating"],
            json!({"error": RATINGS_UNAVAILABLE})
        );
    }

    #[tokio::test]
    async fn with_ratings_disabled_the_client_is_never_asked() {
        let fake = FixedRatings::new(None);
        let state = AppState::with_ratings_client(Config::default(), fake.clone());
        let (status, body) = call(state, get("/reviews/4")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["reviews"][0].get("rating").is_none());
        assert!(fake.headers.lock().expect("never poisoned").is_empty());
    }

    #[tokio::test]
    async fn only_the_propagated_headers_are_handed_to_the_client() {
        let fake = FixedRatings::new(None);
        let state = AppState::with_ratings_client(with_ratings(), fake.clone());
        let request = Request::get("/reviews/1")
            .header("end-user", "jason")
            .header("x-request-id", "abc")
            .header("accept-language", "fr")
            .body(Body::empty())
            .expect("a request");
        call(state, request).await;
        let seen = fake.headers.lock().expect("never poisoned");
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].get("end-user").map(|v| v.as_bytes()),
            Some(&b"jason"[..])
        );
        assert_eq!(
            seen[0].get("x-request-id").map(|v| v.as_bytes()),
            Some(&b"abc"[..])
        );
        assert!(seen[0].get("accept-language").is_none());
    }
}
