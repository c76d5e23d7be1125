//! The body type every response of the proxy carries, and two constructors.
//!
//! Upstream bodies stream through untouched (`hyper::body::Incoming`); synthetic ones (errors,
//! admin pages) are a single buffer. Boxing both into one type keeps the stages' signatures plain.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

/// A response or request body, streamed or buffered.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// A body made of one buffer.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}
