//! The two implementations of every peer trait agree: for each question productpage and reviews
//! ask, the in-process client (the monolith's) answers exactly what the network client (the
//! services') gets from the real service on a real socket.
//!
//! The network side is the split stack in miniature: details, ratings v1, reviews v2 (calling
//! that ratings over HTTP) and banner, each on `127.0.0.1:0`, and productpage's own
//! `Clients::network` pointed at them. The in-process side is the monolith's adapters over the
//! same banner database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use monolith::in_process::{InProcessBanner, InProcessDetails, InProcessRatings, InProcessReviews};
use productpage::clients::{Clients, Failure, Fetched};
use productpage::metrics::Metrics;
use reviews::clients::{HttpRatingsClient, RatingsClient};
use serde_json::{Value, json};
use tempfile::TempDir;
use testkit::TestServer;
use time::OffsetDateTime;

/// The reviews configuration both sides use: v2, black stars, the same pod name.
fn reviews_v2(ratings_url: &str) -> reviews::Config {
    reviews::Config {
        enable_ratings: true,
        star_color: "black".into(),
        ratings_url: ratings_url.into(),
        ratings_timeout: Duration::from_secs(5),
        pod_name: Some("reviews-v2".into()),
        ..reviews::Config::default()
    }
}

/// Both sides, ready to be asked the same questions.
struct Both {
    network: Clients,
    in_process: Clients,
    /// What reviews uses to reach ratings, each way.
    ratings_http: HttpRatingsClient,
    ratings_in_process: InProcessRatings,
    /// The banner database both sides read.
    store: banner::Store,
    _servers: Vec<TestServer>,
    _dir: TempDir,
}

impl Both {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = banner::Store::connect(&common::db::sqlite_url(&dir.path().join("b.db")))
            .await
            .expect("a database");

        // The network side: every service on its own socket.
        let details = testkit::serve(details::app(details::Config::default())).await;
        let ratings_state = ratings::AppState::from_config(&ratings::Config::default())
            .await
            .expect("ratings v1 needs nothing");
        let ratings = testkit::serve(ratings::app(ratings_state)).await;
        let ratings_url = format!("http://{}", ratings.addr);
        let reviews_state =
            reviews::AppState::from_config(reviews_v2(&ratings_url)).expect("an HTTP client");
        let reviews = testkit::serve(reviews::app(reviews_state)).await;
        let banner_config = banner::Config::with_database("sqlite://unused");
        let banner = testkit::serve(banner::app(banner::AppState::new(
            store.clone(),
            &banner_config,
        )))
        .await;
        let peer = |prefix: &'static str, server: &TestServer| {
            [
                (format!("{prefix}_HOSTNAME"), "127.0.0.1".to_string()),
                (
                    format!("{prefix}_SERVICE_PORT"),
                    server.addr.port().to_string(),
                ),
            ]
        };
        let env: HashMap<String, String> = [
            peer("DETAILS", &details),
            peer("REVIEWS", &reviews),
            peer("RATINGS", &ratings),
            peer("BANNER", &banner),
        ]
        .into_iter()
        .flatten()
        .collect();
        let config = productpage::Config::from_env(&env).expect("valid peers");
        let network = Clients::network(&config, Arc::new(Metrics::new())).expect("an HTTP client");
        let ratings_http = HttpRatingsClient::new(
            common::client::build("test", common::client::PeerConnections::Pooled)
                .expect("an HTTP client"),
            &ratings_url,
            Duration::from_secs(5),
        );

        // The in-process side: the monolith's adapters.
        let ratings_in_process = InProcessRatings::v1();
        let in_process_reviews = reviews::AppState::with_ratings_client(
            reviews_v2("http://unused"),
            Arc::new(ratings_in_process.clone()),
        );
        let in_process = Clients {
            details: Arc::new(InProcessDetails),
            reviews: Arc::new(InProcessReviews::new(in_process_reviews)),
            ratings: Arc::new(ratings_in_process.clone()),
            banner: Arc::new(InProcessBanner::new(store.clone())),
        };

        Self {
            network,
            in_process,
            ratings_http,
            ratings_in_process,
            store,
            _servers: vec![details, ratings, reviews, banner],
            _dir: dir,
        }
    }
}

/// A fetched body as JSON, or the failure.
fn json_of(fetched: Fetched) -> Result<Value, Failure> {
    fetched.map(|body| serde_json::from_slice(&body).expect("a JSON body"))
}

#[tokio::test]
async fn details_agree() {
    let both = Both::start().await;
    let headers = HeaderMap::new();
    for id in [0, 7, -1] {
        let network = json_of(both.network.details.details(id, &headers).await);
        let in_process = json_of(both.in_process.details.details(id, &headers).await);
        assert_eq!(in_process, network, "product {id}");
        assert_eq!(in_process.expect("a book")["id"], id);
    }
}

#[tokio::test]
async fn reviews_with_ratings_agree_on_five_and_four_black_stars() {
    let both = Both::start().await;
    let headers = HeaderMap::new();
    let network = json_of(both.network.reviews.reviews(0, &headers).await);
    let in_process = json_of(both.in_process.reviews.reviews(0, &headers).await);
    assert_eq!(in_process, network);
    let body = in_process.expect("reviews");
    assert_eq!(
        body["reviews"][0]["rating"],
        json!({"stars": 5, "color": "black"})
    );
    assert_eq!(
        body["reviews"][1]["rating"],
        json!({"stars": 4, "color": "black"})
    );
}

#[tokio::test]
async fn an_id_reviews_cannot_read_is_a_404_both_ways() {
    let both = Both::start().await;
    let headers = HeaderMap::new();
    let too_big = i64::from(i32::MAX) + 1;
    let network = both.network.reviews.reviews(too_big, &headers).await;
    let in_process = both.in_process.reviews.reviews(too_big, &headers).await;
    assert_eq!(network, Err(Failure::status(StatusCode::NOT_FOUND)));
    assert_eq!(in_process, network);
}

#[tokio::test]
async fn ratings_agree_for_productpage_and_for_reviews() {
    let both = Both::start().await;
    let headers = HeaderMap::new();
    let network = json_of(both.network.ratings.ratings(3, &headers).await);
    let in_process = json_of(both.in_process.ratings.ratings(3, &headers).await);
    assert_eq!(in_process, network);
    assert_eq!(
        in_process.expect("ratings"),
        json!({"id": 3, "ratings": {"Reviewer1": 5, "Reviewer2": 4}})
    );

    let network = both
        .ratings_http
        .product_ratings(3, HeaderMap::new())
        .await
        .expect("ratings answers");
    let in_process = both
        .ratings_in_process
        .product_ratings(3, HeaderMap::new())
        .await
        .expect("the store answers");
    assert_eq!(in_process, network);
    assert_eq!(in_process.get("Reviewer1"), Some(&5));
}

#[tokio::test]
async fn the_active_banner_agrees_before_and_after_one_is_scheduled() {
    let both = Both::start().await;
    let headers = HeaderMap::new();
    let network = both.network.banner.active_banner(&headers).await;
    let in_process = both.in_process.banner.active_banner(&headers).await;
    assert_eq!(network, Err(Failure::status(StatusCode::NOT_FOUND)));
    assert_eq!(in_process, network);

    let now = OffsetDateTime::now_utc();
    let data = banner::model::BannerData {
        title: "Both ways".into(),
        platform: banner::model::Platform::Desktop,
        slot: banner::model::Slot::try_from(1).expect("a slot"),
        starts_at: (now - time::Duration::hours(1))
            .replace_nanosecond(0)
            .expect("whole seconds"),
        ends_at: (now + time::Duration::hours(1))
            .replace_nanosecond(0)
            .expect("whole seconds"),
        image_url: None,
        link_url: None,
    };
    both.store
        .create(&data, "test", None)
        .await
        .expect("stored");
    let network = json_of(both.network.banner.active_banner(&headers).await);
    let in_process = json_of(both.in_process.banner.active_banner(&headers).await);
    assert_eq!(in_process, network);
    assert_eq!(in_process.expect("a banner")["title"], "Both ways");
}
