//! The catalogue: Bookinfo sells exactly one book.
//!
//! productpage owns the product's title and description; everything else about the book comes
//! from its peers (facts from details, opinions from reviews).

use serde::Serialize;

/// The id of the one product; `/productpage` always shows it.
pub const PRODUCT_ID: i64 = 0;

/// A product as `GET /api/v1/products` lists it. Field names are Bookinfo's.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: i64,
    pub title: &'static str,
    /// HTML, written by us and shown unescaped on the page. Never put anything that came from a
    /// request or a peer here.
    #[serde(rename = "descriptionHtml")]
    pub description_html: &'static str,
}

/// The one book.
pub static THE_BOOK: Product = Product {
    id: PRODUCT_ID,
    title: "The Comedy of Errors",
    description_html: "<a href=\"https://en.wikipedia.org/wiki/The_Comedy_of_Errors\">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.",
};

/// Every product, in the order `GET /api/v1/products` lists them.
pub static PRODUCTS: [&Product; 1] = [&THE_BOOK];
