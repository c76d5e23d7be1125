//! The JSON productpage reads from its peers, and the small decisions the page makes about it.
//!
//! Only the fields the page shows are read; anything else a peer sends is ignored, and a missing
//! field is shown as empty rather than failing the page. The shapes are Bookinfo's (details §2,
//! reviews §3 of the spec) plus the banner service's `Banner` object.

use serde::Deserialize;

/// The facts `GET /details/{id}` returns, as the "Book Details" table shows them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BookDetails {
    #[serde(rename = "ISBN-10")]
    pub isbn_10: String,
    pub publisher: String,
    pub pages: Option<i64>,
    #[serde(rename = "type")]
    pub book_type: String,
    pub language: String,
}

/// The body of `GET /reviews/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductReviews {
    /// The pod (or process) that answered: the easiest way to see which reviews version the
    /// mesh routed to.
    pub podname: Option<String>,
    /// Set in multi-cluster set-ups. Bookinfo's reviews sends the *string* `"null"` when it is
    /// unset; a JSON `null` is accepted as well.
    pub clustername: Option<String>,
    pub reviews: Vec<Review>,
}

impl ProductReviews {
    /// The pod name, or `unknown` when the peer did not say.
    pub fn pod(&self) -> &str {
        self.podname.as_deref().unwrap_or("unknown")
    }

    /// The cluster name, when there is a real one.
    pub fn cluster(&self) -> Option<&str> {
        self.clustername
            .as_deref()
            .filter(|name| !name.is_empty() && *name != "null")
    }
}

/// One review. reviews v1 sends no `rating`; v2 and v3 send stars, or an error when they could
/// not reach ratings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Review {
    pub reviewer: String,
    pub text: String,
    pub rating: Option<Rating>,
}

/// A review's rating: `{"stars": 4, "color": "red"}` or `{"error": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Rating {
    pub stars: Option<i64>,
    pub color: Option<String>,
    pub error: Option<String>,
}

/// How many stars to draw, filled and outlined, and in which colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stars<'a> {
    pub full: u8,
    pub empty: u8,
    /// The colour the peer asked for, for the `data-color` attribute.
    pub color: &'a str,
    /// The CSS class that draws it. Chosen from a fixed list so a peer cannot inject a class.
    pub class: &'static str,
}

/// The most stars a rating has.
pub const MAX_STARS: u8 = 5;

impl Rating {
    /// The stars to draw, if this rating has any. Out-of-range counts are clamped to 0..=5.
    pub fn stars(&self) -> Option<Stars<'_>> {
        let count = self.stars?;
        let full = u8::try_from(count.clamp(0, i64::from(MAX_STARS))).unwrap_or(0);
        let color = self.color.as_deref().unwrap_or("black");
        let class = if color.eq_ignore_ascii_case("red") {
            "stars-red"
        } else {
            "stars-black"
        };
        Some(Stars {
            full,
            empty: MAX_STARS - full,
            color,
            class,
        })
    }
}

/// The fields of the banner service's `Banner` object that the page uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ActiveBanner {
    pub title: String,
    pub image_url: Option<String>,
    pub link_url: Option<String>,
}

impl ActiveBanner {
    /// The image to show, if the banner has one with a web address.
    pub fn image(&self) -> Option<&str> {
        self.image_url.as_deref().and_then(web_url)
    }

    /// Where the banner links to, if it has a web address.
    pub fn link(&self) -> Option<&str> {
        self.link_url.as_deref().and_then(web_url)
    }
}

/// `url` if it is an absolute `http` or `https` address. Anything else (`javascript:`, `data:`,
/// relative paths) is dropped: banner texts are written by whoever can reach the banner admin
/// API, and the page must not let them run script in a visitor's browser.
pub fn web_url(url: &str) -> Option<&str> {
    let url = url.trim();
    let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
        url.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    });
    let clean = !url.chars().any(|c| c.is_control() || c.is_whitespace());
    (scheme_ok && clean && url.len() > "https://".len()).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(stars: i64, color: &str) -> Rating {
        Rating {
            stars: Some(stars),
            color: Some(color.to_string()),
            error: None,
        }
    }

    #[test]
    fn stars_split_into_full_and_empty() {
        let r = rating(4, "red");
        let stars = r.stars().expect("has stars");
        assert_eq!((stars.full, stars.empty, stars.class), (4, 1, "stars-red"));
    }

    #[test]
    fn odd_star_counts_and_colours_are_tamed() {
        let r = rating(9, "\" onmouseover=\"x");
        let stars = r.stars().expect("has stars");
        assert_eq!(
            (stars.full, stars.empty, stars.class),
            (5, 0, "stars-black")
        );
        let r = rating(-3, "black");
        assert_eq!(r.stars().map(|s| s.full), Some(0));
        assert!(Rating::default().stars().is_none());
    }

    #[test]
    fn the_string_null_is_no_cluster() {
        let mut reviews = ProductReviews {
            clustername: Some("null".into()),
            ..Default::default()
        };
        assert_eq!(reviews.cluster(), None);
        reviews.clustername = Some("east".into());
        assert_eq!(reviews.cluster(), Some("east"));
    }

    #[test]
    fn only_web_urls_are_kept() {
        assert_eq!(
            web_url("https://example.com/x"),
            Some("https://example.com/x")
        );
        assert_eq!(web_url("HTTP://example.com"), Some("HTTP://example.com"));
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative",
            "//example.com",
            "https://",
            "https://exa mple.com",
            "é",
        ] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn bookinfo_reviews_json_parses() {
        let body = r#"{"id": "0", "podname": "reviews-v3", "clustername": "null", "reviews": [
            {"reviewer": "Reviewer1", "text": "Great", "rating": {"stars": 5, "color": "red"}},
            {"reviewer": "Reviewer2", "text": "Fun", "rating": {"error": "Ratings service is currently unavailable"}}]}"#;
        let parsed: ProductReviews = serde_json::from_str(body).expect("valid");
        assert_eq!(parsed.pod(), "reviews-v3");
        assert_eq!(parsed.reviews.len(), 2);
        assert!(
            parsed.reviews[1]
                .rating
                .as_ref()
                .is_some_and(|r| r.error.is_some())
        );
    }
}
