//! The HTML pages: the landing page (`/`, `/index.html`) and the book page (`/productpage`).
//!
//! The book page is where the whole application meets. One visit:
//! 1. reads who is visiting (signed-in user, headers to propagate: [`Visitor`]);
//! 2. fires the `FLOOD_FACTOR` extra reviews calls, without waiting for them;
//! 3. asks details, reviews and banner **at the same time** and waits for all three;
//! 4. renders whatever came back. A peer that failed becomes a red block (or, for the banner,
//!    nothing), never an error page: the status is always 200, as in Bookinfo.
//!
//! Bookinfo calls details, then reviews, one after the other. We call them concurrently, so a
//! page costs the slowest call instead of the sum. Fault-injection results do not change: the
//! delays the Istio tasks inject are on the reviews path, which is still awaited in full.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use tracing::instrument::WithSubscriber as _;

use crate::app::AppState;
use crate::clients::Fetched;
use crate::config::PeerUrls;
use crate::error::{DETAILS_UNAVAILABLE, Error, REVIEWS_UNAVAILABLE};
use crate::model::{ActiveBanner, BookDetails, ProductReviews};
use crate::product::{PRODUCT_ID, Product, THE_BOOK};
use crate::session::Visitor;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/productpage", get(productpage))
}

/// `templates/index.html`: what this application is and where its peers are.
#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    peers: &'a PeerUrls,
}

/// `templates/productpage.html`. A failed peer is `Err(<the text to show>)`.
#[derive(Template)]
#[template(path = "productpage.html")]
pub struct ProductPage<'a> {
    pub user: Option<&'a str>,
    pub product: &'a Product,
    pub banner: Option<ActiveBanner>,
    pub details: Result<BookDetails, &'static str>,
    pub reviews: Result<ProductReviews, &'static str>,
}

async fn index(State(state): State<AppState>) -> Result<Html<String>, Error> {
    let page = IndexPage {
        peers: &state.peers,
    };
    Ok(Html(page.render()?))
}

async fn productpage(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Html<String>, Error> {
    let headers = &visitor.peer_headers;
    flood(&state, headers);
    let clients = &state.clients;
    let (details, reviews, banner) = tokio::join!(
        clients.details.details(PRODUCT_ID, headers),
        clients.reviews.reviews(PRODUCT_ID, headers),
        clients.banner.active_banner(headers),
    );
    let page = ProductPage {
        user: visitor.user.as_deref(),
        product: &THE_BOOK,
        banner: parse("banner", banner).ok(),
        details: parse("details", details).map_err(|()| DETAILS_UNAVAILABLE),
        reviews: parse("reviews", reviews).map_err(|()| REVIEWS_UNAVAILABLE),
    };
    Ok(Html(page.render()?))
}

/// `FLOOD_FACTOR` extra reviews calls, sent concurrently and never awaited: their only purpose
/// is load on reviews, to show a mesh's rate limiting at work. Their results are still counted
/// in `request_result`.
fn flood(state: &AppState, headers: &HeaderMap) {
    for _ in 0..state.flood_factor {
        let reviews = state.clients.reviews.clone();
        let headers = headers.clone();
        // In the page's span and under its instance's dispatcher, so each is a peer call of
        // this trace.
        let call = async move {
            let _ = reviews.reviews(PRODUCT_ID, &headers).await;
        };
        tokio::spawn(call.in_current_span().with_current_subscriber());
    }
}

/// A peer's 200 body as `T`. A body that is not the expected JSON counts as a failure too; the
/// cause is logged, the page shows the usual "unavailable" text.
fn parse<T: DeserializeOwned>(peer: &str, fetched: Fetched) -> Result<T, ()> {
    let body = fetched.map_err(|_| ())?;
    serde_json::from_slice(&body).map_err(|error| {
        tracing::warn!(peer, %error, "peer answered 200 with a body productpage cannot read");
    })
}
