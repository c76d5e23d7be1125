//! The body type every response of the proxy carries, and two constructors.
//!
//! Upstream bodies stream through untouched (`hyper::body::Incoming`); synthetic ones (errors,
//! admin pages) are a single buffer. Boxing both into one type keeps the stages' signatures plain.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

/// A response or request body, streamed or buffered.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// A body made of one buffer.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A buffered body followed by its trailers, if any (a replayed gRPC request keeps them).
pub fn with_trailers(bytes: Bytes, trailers: Option<http::HeaderMap>) -> Body {
    match trailers {
        None => full(bytes),
        Some(trailers) => {
            let frames = [Frame::data(bytes), Frame::trailers(trailers)]
                .into_iter()
                .map(Ok::<_, hyper::Error>);
            StreamBody::new(futures::stream::iter(frames)).boxed()
        }
    }
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}
