//! `/productpage` over real sockets, against fake peers: what the page shows for each state of
//! details, reviews, ratings and banner, and what productpage sends them.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Fake, Peers, get, productpage, productpage_for, reviews, stars};

const DETAILS_ERROR: &str = "Sorry, product details are currently unavailable for this book.";
const REVIEWS_ERROR: &str = "Sorry, product reviews are currently unavailable for this book.";

#[tokio::test]
async fn healthy_peers_give_details_and_black_stars() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(html.contains("<title>Simple Bookstore App</title>"));
    assert!(html.contains("BookInfo Sample"));
    assert!(html.contains("The Comedy of Errors"));
    assert!(
        html.contains("<b>William Shakespeare's</b>"),
        "description is HTML"
    );
    assert!(html.contains("Learn more about Istio"));
    assert!(html.contains("Book Details"));
    for fact in [
        "<td>1234567890</td>",
        "<td>PublisherA</td>",
        "<td>200</td>",
        "<td>paperback</td>",
        "<td>English</td>",
    ] {
        assert!(html.contains(fact), "{fact} missing");
    }
    assert!(html.contains("Book Reviews"));
    assert!(html.contains("An extremely entertaining play by Shakespeare."));
    assert_eq!(stars(&html, "Reviewer1"), Some((5, 0, "black".into())));
    assert_eq!(stars(&html, "Reviewer2"), Some((4, 1, "black".into())));
    assert!(html.contains("stars-black"));
    assert!(html.contains("Reviews served by: reviews-v2"));
    assert!(
        !html.contains("on cluster"),
        "clustername \"null\" is hidden"
    );
    assert!(!html.contains("Error fetching"));
    // Each peer was asked once, for product 0.
    assert_eq!(peers.details.seen()[0].uri, "/details/0");
    assert_eq!(peers.reviews.seen()[0].uri, "/reviews/0");
    assert_eq!(
        peers.ratings.calls(),
        0,
        "the page reaches ratings via reviews"
    );
}

#[tokio::test]
async fn reviews_v3_gives_red_stars_and_its_cluster() {
    let mut peers = Peers::bookinfo().await;
    peers.reviews = Fake::json(200, reviews(Some("red"), Some("east"))).await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert_eq!(stars(&html, "Reviewer1"), Some((5, 0, "red".into())));
    assert_eq!(stars(&html, "Reviewer2"), Some((4, 1, "red".into())));
    assert!(html.contains("stars-red"));
    assert!(html.contains("Reviews served by: reviews-v3 on cluster east"));
}

#[tokio::test]
async fn reviews_v1_shows_reviews_without_stars() {
    let mut peers = Peers::bookinfo().await;
    peers.reviews = Fake::json(200, reviews(None, None)).await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(html.contains("Absolutely fun and entertaining."));
    assert_eq!(stars(&html, "Reviewer1"), None);
    assert_eq!(stars(&html, "Reviewer2"), None);
    assert!(!html.contains("star-full"));
    assert!(html.contains("Reviews served by: reviews-v1"));
}

#[tokio::test]
async fn a_rating_error_replaces_the_stars() {
    let unavailable = json!({"error": "Ratings service is currently unavailable"});
    let mut peers = Peers::bookinfo().await;
    peers.reviews = Fake::json(
        200,
        json!({"id": "0", "podname": "reviews-v2", "clustername": "null", "reviews": [
            {"reviewer": "Reviewer1", "text": "Great", "rating": unavailable},
            {"reviewer": "Reviewer2", "text": "Fun", "rating": unavailable},
        ]}),
    )
    .await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert_eq!(
        html.matches("Ratings service is currently unavailable")
            .count(),
        2
    );
    assert!(html.contains("class=\"rating-error\""));
    assert!(!html.contains("star-full"));
}

#[tokio::test]
async fn details_down_shows_the_error_block_and_the_rest_of_the_page() {
    let mut peers = Peers::bookinfo().await;
    peers.details = Fake::down().await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200, "the page always renders");
    assert!(html.contains("Error fetching product details"));
    assert!(html.contains(DETAILS_ERROR));
    assert!(!html.contains("<td>PublisherA</td>"));
    assert_eq!(stars(&html, "Reviewer1"), Some((5, 0, "black".into())));
}

#[tokio::test]
async fn details_answering_an_error_status_is_a_failure_too() {
    let mut peers = Peers::bookinfo().await;
    peers.details = Fake::json(555, json!({"error": "fault injected"})).await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(html.contains("Error fetching product details"));
    assert_eq!(peers.details.calls(), 1, "details gets one attempt");
}

#[tokio::test]
async fn reviews_503_is_tried_twice_then_shown_as_unavailable() {
    let mut peers = Peers::bookinfo().await;
    peers.reviews = Fake::json(503, json!({"error": "Service unavailable"})).await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(html.contains("Error fetching product reviews"));
    assert!(html.contains(REVIEWS_ERROR));
    assert!(!html.contains("Reviews served by"));
    assert!(html.contains("<td>PublisherA</td>"), "details still shown");
    assert_eq!(
        peers.reviews.calls(),
        2,
        "Bookinfo's deliberate second attempt"
    );
}

#[tokio::test]
async fn a_reviews_timeout_is_tried_twice_then_shown_as_unavailable() {
    let mut peers = Peers::bookinfo().await;
    peers.reviews = Fake::slow(Duration::from_secs(3), 200, reviews(Some("black"), None)).await;
    let mut config = peers.config();
    config.timeouts.reviews = Duration::from_millis(200);
    let server = productpage(config).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(html.contains("Error fetching product reviews"));
    assert!(html.contains(REVIEWS_ERROR));
    assert_eq!(peers.reviews.calls(), 2);
}

#[tokio::test]
async fn an_active_banner_is_shown_above_the_book() {
    let mut peers = Peers::bookinfo().await;
    peers.banner = Fake::json(
        200,
        json!({
            "id": 1, "title": "Spring sale: 20% off Shakespeare", "platform": "desktop", "slot": 1,
            "starts_at": "2024-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z",
            "image_url": "https://example.com/sale.png", "link_url": "https://example.com/sale",
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"
        }),
    )
    .await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(html.contains("Spring sale: 20% off Shakespeare"));
    assert!(html.contains("href=\"https://example.com/sale\""));
    assert!(html.contains("src=\"https://example.com/sale.png\""));
    let banner = html.find("data-banner").expect("banner shown");
    let title = html.find("product-title").expect("title shown");
    assert!(banner < title, "the banner is above the book");
    assert_eq!(
        peers.banner.seen()[0].uri,
        "/api/v1/banners/active?platform=desktop&slot=1"
    );
}

#[tokio::test]
async fn banner_links_that_are_not_web_addresses_are_dropped() {
    let mut peers = Peers::bookinfo().await;
    peers.banner = Fake::json(
        200,
        json!({"id": 2, "title": "Click me", "image_url": "data:image/png;base64,AAAA",
               "link_url": "javascript:alert(1)"}),
    )
    .await;
    let server = productpage_for(&peers).await;

    let (_, html) = get(&server.url("/productpage"), &[]).await;

    assert!(html.contains("Click me"));
    assert!(!html.contains("javascript:"));
    assert!(!html.contains("data:image"));
}

#[tokio::test]
async fn no_active_banner_or_a_banner_service_down_hides_the_banner() {
    for banner in [
        Fake::json(404, json!({"error": "no active banner"})).await,
        Fake::down().await,
        Fake::json(200, json!("not a banner object")).await,
    ] {
        let mut peers = Peers::bookinfo().await;
        peers.banner = banner;
        let server = productpage_for(&peers).await;

        let (status, html) = get(&server.url("/productpage"), &[]).await;

        assert_eq!(status, 200);
        assert!(!html.contains("data-banner"));
        assert!(html.contains("<td>PublisherA</td>"));
        assert_eq!(stars(&html, "Reviewer1"), Some((5, 0, "black".into())));
    }
}

#[tokio::test]
async fn trace_headers_reach_every_peer_unchanged() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;
    let trace = [
        ("x-request-id", "8c3e0f5a-6f0a-4a1e-9a57-0d2d6b1f4c11"),
        ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
        ("x-b3-spanid", "e457b5a2e4d86bd1"),
        ("x-b3-sampled", "1"),
        (
            "sw8",
            "1-ZGVtbw==-c3Bhbg==-0-cHJvZHVjdHBhZ2U=-aW5zdGFuY2U=-L3Byb2R1Y3RwYWdl-cHJvZHVjdHBhZ2U6OTA4MA==",
        ),
    ];

    let (status, _) = get(&server.url("/productpage"), &trace).await;

    assert_eq!(status, 200);
    for (peer, fake) in [
        ("details", &peers.details),
        ("reviews", &peers.reviews),
        ("banner", &peers.banner),
    ] {
        for (name, value) in trace {
            assert_eq!(
                fake.header(0, name).as_deref(),
                Some(value),
                "{name} at {peer}"
            );
        }
        assert_eq!(fake.header(0, "end-user"), None, "nobody signed in");
    }
}

#[tokio::test]
async fn peer_and_user_texts_are_escaped() {
    let mut peers = Peers::bookinfo().await;
    peers.reviews = Fake::json(
        200,
        json!({"id": "0", "podname": "<img src=x onerror=alert(1)>", "clustername": "null",
               "reviews": [{"reviewer": "<b>mallory</b>", "text": "<script>alert('review')</script>",
                            "rating": {"stars": 3, "color": "\"><script>alert(2)</script>"}}]}),
    )
    .await;
    peers.banner = Fake::json(
        200,
        json!({"id": 3, "title": "<script>alert('banner')</script>",
               "link_url": "https://example.com/\"><script>alert(3)</script>"}),
    )
    .await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(!html.contains("<script"), "no script tag gets through");
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<b>mallory</b>"));
    assert!(html.contains("&#60;script&#62;"), "escaped, still readable");
    assert!(html.contains("&#60;b&#62;mallory&#60;/b&#62;"));
}

#[tokio::test]
async fn flood_factor_sends_extra_reviews_calls() {
    let peers = Peers::bookinfo().await;
    let mut config = peers.config();
    config.flood_factor = 3;
    let server = productpage(config).await;

    let (status, _) = get(&server.url("/productpage"), &[]).await;
    assert_eq!(status, 200);

    // The extra calls are not awaited by the page: give them time to arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while peers.reviews.calls() < 4 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        peers.reviews.calls(),
        4,
        "one for the page, three for the flood"
    );
}

#[tokio::test]
async fn the_landing_page_links_both_users_and_lists_the_peers() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    for path in ["/", "/index.html"] {
        let (status, html) = get(&server.url(path), &[]).await;
        assert_eq!(status, 200);
        assert!(html.contains(
            "<a class=\"button button-primary\" href=\"/productpage?u=normal\">Normal user</a>"
        ));
        assert!(html.contains("href=\"/productpage?u=test\">Test user</a>"));
        for peer in ["details", "reviews", "ratings", "banner"] {
            assert!(html.contains(&format!("<td>{peer}</td>")), "{peer}");
        }
        assert!(html.contains(&format!("http://127.0.0.1:{}", peers.details.addr.port())));
    }
    assert_eq!(peers.details.calls(), 0, "the landing page calls nobody");
}
