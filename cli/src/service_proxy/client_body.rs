//! The client's request body on its way to an instance. It is streamed, never buffered, and
//! notes whether reading it failed, so that a broken body is answered 400, not 502.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::Incoming;

/// The client's request body on its way to an instance, which notes whether reading it failed:
/// when the exchange then fails, the client is the cause, not the instance.
#[derive(Debug)]
pub struct ClientBody {
    pub(super) body: Incoming,
    pub(super) failed: Arc<AtomicBool>,
}

impl hyper::body::Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
