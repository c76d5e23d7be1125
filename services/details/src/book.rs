//! The book record details serves.
//!
//! Bookinfo has one book, *The Comedy of Errors*; every product id gets the same facts, with the
//! id echoed back.

use serde::{Deserialize, Serialize};

/// The JSON body of `GET /details/{id}`. Field names and values are Bookinfo's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookDetails {
    pub id: i64,
    pub author: String,
    pub year: i64,
    #[serde(rename = "type")]
    pub book_type: String,
    pub pages: i64,
    pub publisher: String,
    pub language: String,
    #[serde(rename = "ISBN-10")]
    pub isbn_10: String,
    #[serde(rename = "ISBN-13")]
    pub isbn_13: String,
}

impl BookDetails {
    /// The details of the one book, for product `id`.
    pub fn for_product(id: i64) -> Self {
        Self {
            id,
            author: "William Shakespeare".into(),
            year: 1595,
            book_type: "paperback".into(),
            pages: 200,
            publisher: "PublisherA".into(),
            language: "English".into(),
            isbn_10: "1234567890".into(),
            isbn_13: "123-1234567890".into(),
        }
    }
}
