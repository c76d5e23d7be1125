//! The per-connection watchdog: closes a connection that sends nothing, sends half a request
//! head, or sits idle between requests for too long.
//!
//! ## Why not hyper's `header_read_timeout` alone
//! hyper 1's HTTP/1.1 server starts its header-read clock whenever it *waits* for a head, and it
//! waits for the next one as soon as an answer is sent: alone, that clock would close every
//! keep-alive connection after the head timeout, and the idle timeout could never be longer.
//! It also does not run before the first byte, while `auto` sniffs for the HTTP/2 preface, nor
//! for HTTP/2 at all. So each connection has one small clock of its own, as Envoy and nginx do,
//! which knows three phases:
//!
//! ```text
//!   accepted ──► waiting for the first head ─┬─► request in flight ─► idle ─► head arriving
//!                 (head timeout from accept) │     (no clock)          │ (idle     │ (head timeout
//!                                            │                         │  timeout) │  from its first
//!                                            └──────── next request ◄──┴───────────┘  byte)
//! ```
//!
//! Three parties share one [`Activity`]: the connection's [`WatchedStream`] notes when bytes
//! arrive while nothing is in flight (a head has begun); each request holds an [`InFlight`]
//! guard until its answer's body is dropped (sent, or abandoned); and [`Activity::expired`]
//! sleeps until the deadline, reading the phase only when its timer fires (see there). An HTTP/2
//! connection has no "head arriving" phase: between requests its client may send pings and
//! window updates, which are not a head, so only its idle time counts.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::Limits;

/// `head_started` when no head has begun.
const NOT_YET: u64 = u64::MAX;

/// What one connection is doing, shared by its stream, its requests and its watchdog. Times
/// are milliseconds since the connection was accepted, so they fit in atomics.
#[derive(Debug)]
pub(crate) struct Activity {
    accepted: Instant,
    in_flight: AtomicUsize,
    /// Whether a request has come at all: until then the head timeout runs from the accept.
    served: AtomicBool,
    /// The connection speaks HTTP/2 (its preface was seen, or a request came over it).
    http2: AtomicBool,
    /// When the last request in flight finished.
    idle_since: AtomicU64,
    /// When the first byte came in while nothing was in flight, or [`NOT_YET`].
    head_started: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            accepted: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NOT_YET),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(NOT_YET - 1)
    }

    /// A request begins: no clock runs until its answer is done.
    pub(crate) fn begin(self: &Arc<Self>, http2: bool) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.served.store(true, Ordering::Relaxed);
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        InFlight(self.clone())
    }

    /// Bytes came in. Only the first ones while idle matter: they start a head.
    fn on_read(&self, bytes: &[u8]) {
        if self.in_flight.load(Ordering::Relaxed) != 0
            || self.head_started.load(Ordering::Relaxed) != NOT_YET
            || self.http2.load(Ordering::Relaxed)
        {
            return;
        }
        if !self.served.load(Ordering::Relaxed) && starts_like_http2(bytes) {
            self.http2.store(true, Ordering::Relaxed);
        } else {
            self.head_started.store(self.now(), Ordering::Relaxed);
        }
    }

    /// When the connection must be closed if nothing changes; `None` while a request is in
    /// flight (its answer may take as long as the application needs).
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) != 0 {
            return None;
        }
        let at = |millis: u64, timeout| {
            self.accepted + std::time::Duration::from_millis(millis) + timeout
        };
        let head_started = self.head_started.load(Ordering::Relaxed);
        Some(if self.http2.load(Ordering::Relaxed) {
            at(self.idle_since.load(Ordering::Relaxed), limits.idle_timeout)
        } else if !self.served.load(Ordering::Relaxed) {
            at(0, limits.head_timeout)
        } else if head_started != NOT_YET {
            at(head_started, limits.head_timeout)
        } else {
            at(self.idle_since.load(Ordering::Relaxed), limits.idle_timeout)
        })
    }

    /// Resolves once the connection has been idle, or on a head, past its timeout.
    ///
    /// The phase changes twice a request, and waking the connection's task at each change would
    /// cost a good part of what proxying the request costs. So the watchdog keeps one timer and
    /// reads the phase only when it fires: a deadline that moved later is slept to again, and
    /// while a request is in flight (no deadline) it looks again one head timeout later. The one
    /// change that brings a deadline nearer, a head beginning while idle, brings it at most one
    /// head timeout ahead, so an idle connection is looked at that often and still closed on time.
    pub(crate) async fn expired(&self, limits: Limits) {
        let look_again = limits.head_timeout.min(limits.idle_timeout);
        let timer = tokio::time::sleep_until(self.accepted + limits.head_timeout);
        let mut timer = std::pin::pin!(timer);
        loop {
            timer.as_mut().await;
            let now = Instant::now();
            let next = match self.deadline(&limits) {
                Some(deadline) if deadline <= now => return,
                Some(deadline) => deadline.min(now + look_again),
                None => now + look_again,
            };
            timer.as_mut().reset(next);
        }
    }
}

/// The first bytes an HTTP/2 client sends (RFC 9113, section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether `bytes`, the first a connection sent, agree with the HTTP/2 preface.
fn starts_like_http2(bytes: &[u8]) -> bool {
    let common = bytes.len().min(H2_PREFACE.len());
    bytes[..common] == H2_PREFACE[..common]
}

/// Held by a request from its head to the end of its answer's body.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            activity.idle_since.store(activity.now(), Ordering::Relaxed);
            activity.head_started.store(NOT_YET, Ordering::Relaxed);
        }
    }
}

/// A client's TCP stream that tells its [`Activity`] when bytes arrive.
#[derive(Debug)]
pub(crate) struct WatchedStream {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl WatchedStream {
    pub(crate) fn new(stream: TcpStream, activity: Arc<Activity>) -> Self {
        Self { stream, activity }
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if !read.is_empty() {
            this.activity.on_read(read);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: Limits = Limits {
        head_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(75),
        max_connections: 1,
    };

    fn after(activity: &Activity, deadline: Option<Instant>) -> Option<Duration> {
        deadline.map(|d| d - activity.accepted)
    }

    #[test]
    fn each_phase_has_its_clock() {
        let activity = Activity::new();
        let deadline = |a: &Arc<Activity>| after(a, a.deadline(&LIMITS));
        // Nothing sent yet: the head timeout, from the accept.
        assert_eq!(deadline(&activity), Some(Duration::from_secs(10)));
        activity.on_read(b"GET / HT");
        assert_eq!(deadline(&activity), Some(Duration::from_secs(10)));
        // A request in flight: no clock.
        let request = activity.begin(false);
        assert_eq!(deadline(&activity), None);
        drop(request);
        // Idle between requests: the idle timeout.
        let idle = deadline(&activity).expect("idle has a deadline");
        assert!(idle >= Duration::from_secs(75), "{idle:?}");
        // The next head begins: the head timeout, from its first byte.
        activity.on_read(b"G");
        let head = deadline(&activity).expect("a head has a deadline");
        assert!(head < Duration::from_secs(11), "{head:?}");
    }

    #[test]
    fn an_http2_connection_only_counts_idle_time() {
        let activity = Activity::new();
        activity.on_read(&H2_PREFACE[..10]);
        let idle = after(&activity, activity.deadline(&LIMITS));
        assert_eq!(idle, Some(Duration::from_secs(75)));
        drop(activity.begin(true));
        activity.on_read(b"\0\0\x08\x06");
        let idle = after(&activity, activity.deadline(&LIMITS)).expect("idle");
        assert!(idle >= Duration::from_secs(75), "{idle:?}");
    }
}
