//! The two reviews, and the JSON body reviews answers with.
//!
//! Bookinfo has one book with two fixed reviews. What changes between versions is only the
//! `rating` of each review: absent (v1), stars in a colour (v2, v3), or an error object when
//! ratings could not be asked.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What reviews shows in place of stars when ratings did not answer. The text is Bookinfo's,
/// and productpage displays it as is.
pub const RATINGS_UNAVAILABLE: &str = "Ratings service is currently unavailable";

/// What Bookinfo writes for a pod or cluster name that is not set (see [`ReviewsBody::new`]).
pub const UNSET_NAME: &str = "null";

/// The reviewers and what they wrote. The texts are Bookinfo's, word for word.
pub const REVIEWS: [(&str, &str); 2] = [
    (
        "Reviewer1",
        "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
    ),
    (
        "Reviewer2",
        "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.",
    ),
];

/// The JSON body of `GET /reviews/{id}`. Field names and order are Bookinfo's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewsBody {
    /// The product id, as a *string* (Bookinfo's quirk, kept: productpage does not care).
    pub id: String,
    pub podname: String,
    pub clustername: String,
    pub reviews: Vec<Review>,
}

/// One review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub reviewer: String,
    pub text: String,
    /// Absent, not `null`, when ratings are disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

/// The `rating` of a review: either stars or the reason there are none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rating {
    /// `{"stars": 5, "color": "black"}`
    Stars { stars: i64, color: String },
    /// `{"error": "Ratings service is currently unavailable"}`
    Unavailable { error: String },
}

/// What reviews learned from ratings for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stars {
    /// Ratings are disabled (v1): no `rating` field at all.
    Disabled,
    /// Ratings answered: stars per reviewer. A reviewer missing here gets the error object.
    Known(HashMap<String, i64>),
    /// Ratings did not answer usefully: every review gets the error object.
    Unavailable,
}

impl ReviewsBody {
    /// The body for product `id`.
    ///
    /// A pod or cluster name that is not set is written as the *string* `"null"`: Bookinfo
    /// builds its JSON by concatenating strings, so that is what it emits, and Bookinfo's own
    /// productpage hides the cluster line by comparing with `"null"`. We keep that, so our
    /// reviews and Bookinfo's productpage can be mixed in either direction.
    pub fn new(
        id: i32,
        pod_name: Option<&str>,
        cluster_name: Option<&str>,
        star_color: &str,
        stars: &Stars,
    ) -> Self {
        let reviews = REVIEWS
            .iter()
            .map(|(reviewer, text)| Review {
                reviewer: (*reviewer).to_string(),
                text: (*text).to_string(),
                rating: rating_for(reviewer, star_color, stars),
            })
            .collect();
        Self {
            id: id.to_string(),
            podname: pod_name.unwrap_or(UNSET_NAME).to_string(),
            clustername: cluster_name.unwrap_or(UNSET_NAME).to_string(),
            reviews,
        }
    }
}

fn rating_for(reviewer: &str, star_color: &str, stars: &Stars) -> Option<Rating> {
    let unavailable = || Rating::Unavailable {
        error: RATINGS_UNAVAILABLE.to_string(),
    };
    match stars {
        Stars::Disabled => None,
        Stars::Unavailable => Some(unavailable()),
        Stars::Known(by_reviewer) => Some(match by_reviewer.get(reviewer) {
            Some(&stars) => Rating::Stars {
                stars,
                color: star_color.to_string(),
            },
            None => unavailable(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn without_ratings_there_is_no_rating_field() {
        let body = ReviewsBody::new(0, Some("reviews-v1"), None, "black", &Stars::Disabled);
        let value = serde_json::to_value(&body).expect("serializable");
        assert_eq!(value["id"], "0");
        assert_eq!(value["clustername"], "null");
        assert!(value["reviews"][0].get("rating").is_none());
        assert!(value["reviews"][1].get("rating").is_none());
    }

    #[test]
    fn a_reviewer_missing_from_ratings_gets_the_error_object() {
        let known = Stars::Known(HashMap::from([("Reviewer1".to_string(), 3)]));
        let body = ReviewsBody::new(1, None, None, "red", &known);
        let value = serde_json::to_value(&body).expect("serializable");
        assert_eq!(
            value["reviews"][0]["rating"],
            json!({"stars": 3, "color": "red"})
        );
        assert_eq!(
            value["reviews"][1]["rating"],
            json!({"error": RATINGS_UNAVAILABLE})
        );
    }

    #[test]
    fn the_body_reads_back_as_it_was_written() {
        let body = ReviewsBody::new(2, None, None, "black", &Stars::Unavailable);
        let text = serde_json::to_string(&body).expect("serializable");
        let back: ReviewsBody = serde_json::from_str(&text).expect("deserializable");
        assert_eq!(back, body);
    }
}
