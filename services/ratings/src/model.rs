//! The ratings of a product, and how a posted set of ratings is checked.
//!
//! A product's ratings map reviewer names to stars: `{"Reviewer1": 5, "Reviewer2": 4}`. That is
//! what reviews reads, looking up its two reviewers by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// Stars per reviewer. Sorted by name, so answers are the same from one call to the next.
pub type Ratings = BTreeMap<String, i64>;

/// The fewest and most stars a reviewer can give.
pub const STARS: std::ops::RangeInclusive<i64> = 1..=5;

/// The JSON body of `GET` and `POST /ratings/{id}`: `{"id": 0, "ratings": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRatings {
    pub id: i64,
    pub ratings: Ratings,
}

/// The ratings every product has until someone posts others: Bookinfo's 5 and 4 stars.
pub fn bookinfo_ratings() -> Ratings {
    Ratings::from([("Reviewer1".to_string(), 5), ("Reviewer2".to_string(), 4)])
}

/// The ratings in a `POST` body: a JSON object of reviewer name to whole stars from 1 to 5.
///
/// Bookinfo stores any JSON it is sent, even `[1, 2]`, and reviews then fails to read it. We
/// refuse anything reviews could not show, so a mistake is reported to whoever made it.
pub fn parse_posted(body: &[u8]) -> Result<Ratings, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Error::InvalidJson)?;
    let Value::Object(object) = value else {
        return Err(Error::InvalidJson);
    };
    object
        .into_iter()
        .map(|(reviewer, stars)| match stars.as_i64() {
            Some(n) if STARS.contains(&n) => Ok((reviewer, n)),
            _ => Err(Error::InvalidStars { reviewer, stars }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_of_whole_stars_is_accepted() {
        let ratings = parse_posted(br#"{"Reviewer1": 1, "Reviewer2": 5}"#).expect("valid");
        assert_eq!(ratings["Reviewer1"], 1);
        assert_eq!(ratings["Reviewer2"], 5);
    }

    #[test]
    fn anything_but_a_json_object_is_invalid_json() {
        for body in [&b"{oops"[..], b"", b"[1, 2]", b"5", b"null"] {
            assert!(
                matches!(parse_posted(body), Err(Error::InvalidJson)),
                "{body:?}"
            );
        }
    }

    #[test]
    fn stars_must_be_whole_numbers_from_one_to_five() {
        for body in [
            &br#"{"Reviewer1": 0}"#[..],
            br#"{"Reviewer1": 6}"#,
            br#"{"Reviewer1": 4.5}"#,
            br#"{"Reviewer1": "5"}"#,
            br#"{"Reviewer1": null}"#,
        ] {
            assert!(
                matches!(parse_posted(body), Err(Error::InvalidStars { .. })),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
