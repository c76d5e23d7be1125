//! The answer's body, holding its request's in-flight guard: the connection counts as busy
//! until the last byte is sent (or the body is dropped), however long a streamed answer takes.

use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::watchdog::InFlight;

pin_project! {
    /// `B`, unchanged, with an [`InFlight`] guard dropped when the body is.
    pub struct TrackedBody<B> {
        #[pin]
        inner: B,
        in_flight: InFlight,
    }
}

impl<B> TrackedBody<B> {
    pub(crate) fn new(inner: B, in_flight: InFlight) -> Self {
        Self { inner, in_flight }
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
