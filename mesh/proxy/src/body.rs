//! The body type every response of the proxy carries, two constructors, [`WatchedBody`], the
//! one wrapper that lets a stage act when a response body ends, and [`CallerBody`], the
//! caller's request body watched on its way through.
//!
//! Upstream bodies stream through untouched (`hyper::body::Incoming`); synthetic ones (errors,
//! admin pages) are a single buffer. Boxing both into one type keeps the stages' signatures plain.
//!
//! **Why wait for the end of a body?** A response is not over when its headers are: its body
//! still streams from the upstream to the caller. Three things must wait for that moment: an
//! HTTP/1.1 connection goes back to its pool (`pool::http1`), a circuit breaker's permit is
//! given back (`stage::circuit_breaker`), and the access log line is written with the bytes
//! sent (`stage::access_log`). Each gives [`WatchedBody`] its own [`OnEnd`]; the wrapper counts
//! the bytes and calls it once, whether the body finished, broke or was dropped unread.
//!
//! **Whose failure is a broken request body?** When the caller's body breaks while it streams
//! to the upstream (a malformed chunk, a caller that hangs up), hyper's client only says that
//! the exchange with the upstream failed. Taken at its word, the proxy would answer 503 `UC`
//! and count it against the endpoint, so that a few bad requests from one client could have
//! outlier detection eject a healthy service for everyone. [`CallerBody`] records what
//! happened to the caller's side in a shared [`BodyProgress`], which `forward` looks at when
//! an exchange fails: if the caller's body broke, the failure is the caller's.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};

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

/// How a [`WatchedBody`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// Its last frame was read.
    Finished,
    /// Reading it failed (the upstream broke off).
    Broken,
    /// It was dropped before its end: the caller went away, or never read it.
    Dropped,
}

/// What a stage does when a response body ends: called once, with how it ended and the bytes
/// of data that went through.
pub trait OnEnd {
    fn on_end(self, end: BodyEnd, bytes: u64);

    /// The body's trailers went through (gRPC's status is there); nothing by default.
    fn on_trailers(&mut self, _trailers: &http::HeaderMap) {}
}

/// A response body passed through unchanged, that calls its [`OnEnd`] when it ends.
pub struct WatchedBody<W: OnEnd, B = Body> {
    inner: B,
    bytes: u64,
    /// `None` once called.
    watcher: Option<W>,
}

impl<W: OnEnd, B> WatchedBody<W, B> {
    /// Watch `inner`; `watcher` is called when it ends.
    pub fn new(inner: B, watcher: W) -> WatchedBody<W, B> {
        WatchedBody {
            inner,
            bytes: 0,
            watcher: Some(watcher),
        }
    }

    fn end(&mut self, end: BodyEnd) {
        if let Some(watcher) = self.watcher.take() {
            watcher.on_end(end, self.bytes);
        }
    }
}

impl<W, B> HttpBody for WatchedBody<W, B>
where
    W: OnEnd + Unpin,
    B: HttpBody<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        // Every field is `Unpin`, so plain `&mut` access is fine.
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                } else if let (Some(trailers), Some(watcher)) =
                    (frame.trailers_ref(), this.watcher.as_mut())
                {
                    watcher.on_trailers(trailers);
                }
                // The last frame: the reader may not ask again, so this is the end.
                if this.inner.is_end_stream() {
                    this.end(BodyEnd::Finished);
                }
            }
            Poll::Ready(None) => this.end(BodyEnd::Finished),
            Poll::Ready(Some(Err(_))) => this.end(BodyEnd::Broken),
            Poll::Pending => {}
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<W: OnEnd, B> Drop for WatchedBody<W, B> {
    fn drop(&mut self) {
        self.end(BodyEnd::Dropped);
    }
}

/// Where the caller's request body stands, as the proxy reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// Being read; the last read got data (or none was tried yet).
    Reading,
    /// The proxy asked for more and the caller has not sent it yet: if a deadline passes now,
    /// the caller is the slow one.
    WaitingForCaller,
    /// Read to its end.
    Ended,
    /// The caller sent bytes that are not a valid body (a chunk size that is not hexadecimal,
    /// an HTTP/2 stream error): a downstream protocol error, `DPE`.
    Malformed,
    /// The caller went away before its body was complete (connection closed or reset, HTTP/2
    /// stream reset): a downstream connection termination, `DC`.
    Disconnected,
}

impl BodyState {
    const ALL: [BodyState; 5] = [
        BodyState::Reading,
        BodyState::WaitingForCaller,
        BodyState::Ended,
        BodyState::Malformed,
        BodyState::Disconnected,
    ];

    /// What a failure to read the caller's body means: malformed bytes or a caller gone.
    ///
    /// hyper reports the HTTP/1.1 decoder's verdict as an I/O error under its own: invalid
    /// input or data for bytes that break the framing, anything else (an early end of file, a
    /// reset) for a connection that stopped. Over HTTP/2 a stream the caller reset, or a
    /// connection that broke, is a caller gone; any other stream error is a protocol error.
    pub fn of_read_error(error: &hyper::Error) -> BodyState {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                return match io.kind() {
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                        BodyState::Malformed
                    }
                    _ => BodyState::Disconnected,
                };
            }
            if let Some(h2) = e.downcast_ref::<h2::Error>() {
                return if h2.is_remote() || h2.is_io() || h2.is_go_away() {
                    BodyState::Disconnected
                } else {
                    BodyState::Malformed
                };
            }
            cause = e.source();
        }
        // hyper's own "connection error", when the connection failed under the body.
        BodyState::Disconnected
    }
}

/// The [`BodyState`] of one request's body, shared between the body and the stage that sent it.
#[derive(Debug)]
pub struct BodyProgress(AtomicU8);

impl BodyProgress {
    /// A body not read yet.
    pub fn reading() -> Arc<BodyProgress> {
        Arc::new(BodyProgress(AtomicU8::new(BodyState::Reading as u8)))
    }

    pub fn get(&self) -> BodyState {
        let raw = self.0.load(Ordering::Acquire);
        BodyState::ALL
            .into_iter()
            .find(|state| *state as u8 == raw)
            .unwrap_or(BodyState::Reading)
    }

    fn set(&self, state: BodyState) {
        self.0.store(state as u8, Ordering::Release);
    }
}

/// The caller's request body on its way to the upstream, recording its [`BodyState`].
pub struct CallerBody {
    inner: Incoming,
    progress: Arc<BodyProgress>,
}

impl CallerBody {
    /// Watch `inner`; `progress` is where its state shows.
    pub fn new(inner: Incoming, progress: Arc<BodyProgress>) -> CallerBody {
        CallerBody { inner, progress }
    }
}

impl HttpBody for CallerBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_frame(cx);
        let state = match &poll {
            Poll::Pending => BodyState::WaitingForCaller,
            Poll::Ready(None) => BodyState::Ended,
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => BodyState::Ended,
            Poll::Ready(Some(Ok(_))) => BodyState::Reading,
            Poll::Ready(Some(Err(error))) => BodyState::of_read_error(error),
        };
        // Recorded before hyper's client sees the frame or the error, so that whoever reads
        // the progress after a failed exchange already finds the cause here.
        this.progress.set(state);
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records every call, to check there is exactly one.
    #[derive(Clone, Default)]
    struct Ends(Arc<Mutex<Vec<(BodyEnd, u64)>>>);

    impl OnEnd for Ends {
        fn on_end(self, end: BodyEnd, bytes: u64) {
            self.0.lock().expect("lock").push((end, bytes));
        }
    }

    impl Ends {
        fn seen(&self) -> Vec<(BodyEnd, u64)> {
            self.0.lock().expect("lock").clone()
        }
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_is_finished_once_with_its_bytes() {
        let ends = Ends::default();
        let body = WatchedBody::new(
            with_trailers(Bytes::from_static(b"hello"), Some(http::HeaderMap::new())),
            ends.clone(),
        );
        let collected = body.collect().await.expect("body");
        assert_eq!(collected.to_bytes(), "hello");
        assert_eq!(ends.seen(), [(BodyEnd::Finished, 5)]);
    }

    #[tokio::test]
    async fn a_body_dropped_unread_is_dropped_once() {
        let ends = Ends::default();
        drop(WatchedBody::new(full("unread"), ends.clone()));
        assert_eq!(ends.seen(), [(BodyEnd::Dropped, 0)]);
    }

    #[test]
    fn progress_keeps_each_state() {
        let progress = BodyProgress::reading();
        for state in BodyState::ALL {
            progress.set(state);
            assert_eq!(progress.get(), state);
        }
    }
}
