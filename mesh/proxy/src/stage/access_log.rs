//! Stage `access_log`: one line per request, in the spirit of Envoy's default format.
//!
//! ```text
//! [2026-11-26T10:00:00.123Z] "GET /reviews/0 HTTP/1.1" 200 - 0 295 3 "127.0.0.1:9102" "reviews/http[1]"
//!  start                      method path protocol      |  |  | |   |  upstream host    route name
//!                                                 status  |  | |   duration, ms (to the last byte)
//!                                         response flags  |  bytes sent to the caller
//!                                                  bytes received from the caller
//! ```
//!
//! The line is written when the response body has been fully sent (or dropped, if the caller
//! went away), so the byte count and the duration cover the whole exchange. It goes to tracing
//! at `info` with target `access`, so `RUST_LOG=access=info` selects exactly the access log.
//! The same moment updates `/stats`.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response, Version};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::body::Body;
use crate::stats::{FLAGS, Stats};

/// Envoy response flags set on this request (`DI`, `FI`, `UF`, `URX`, ...).
pub type Flags = Vec<&'static str>;

/// Add a flag once, keeping the order of `stats::FLAGS` so a line always reads the same way
/// (`UF,URX`, whichever stage noticed first).
pub fn add_flag(flags: &mut Flags, flag: &'static str) {
    if !flags.contains(&flag) {
        flags.push(flag);
        flags.sort_by_key(|f| FLAGS.iter().position(|known| known == f));
    }
}

/// What the log line needs, filled in by the stages as the request goes.
#[derive(Debug)]
pub struct Entry {
    started_at: OffsetDateTime,
    started: Instant,
    method: String,
    path: String,
    protocol: &'static str,
    pub flags: Flags,
    pub bytes_in: u64,
    pub upstream: Option<SocketAddr>,
    pub route_name: String,
}

impl Entry {
    /// Start the clock for a request.
    pub fn start<B>(request: &Request<B>) -> Entry {
        Entry {
            started_at: OffsetDateTime::now_utc(),
            started: Instant::now(),
            method: request.method().to_string(),
            path: request
                .uri()
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
            protocol: match request.version() {
                Version::HTTP_10 => "HTTP/1.0",
                Version::HTTP_2 => "HTTP/2",
                _ => "HTTP/1.1",
            },
            flags: Flags::new(),
            bytes_in: 0,
            upstream: None,
            route_name: String::new(),
        }
    }

    /// Attach the entry to the response: it is logged when the body ends.
    pub fn finish(self, response: Response<Body>, stats: Arc<Stats>) -> Response<LoggedBody> {
        let status = response.status().as_u16();
        response.map(|inner| LoggedBody {
            inner,
            bytes_out: 0,
            pending: Some((self, status, stats)),
        })
    }

    fn line(&self, status: u16, bytes_out: u64) -> String {
        let start = self
            .started_at
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .unwrap_or_else(|_| "-".to_owned());
        let flags = if self.flags.is_empty() {
            "-".to_owned()
        } else {
            self.flags.join(",")
        };
        let upstream = self
            .upstream
            .map_or_else(|| "-".to_owned(), |a| a.to_string());
        let route = if self.route_name.is_empty() {
            "-"
        } else {
            &self.route_name
        };
        format!(
            "[{start}] \"{} {} {}\" {status} {flags} {} {bytes_out} {} \"{upstream}\" \"{route}\"",
            self.method,
            self.path,
            self.protocol,
            self.bytes_in,
            self.started.elapsed().as_millis(),
        )
    }
}

/// A response body that counts the bytes it passes on and logs the request when it ends.
pub struct LoggedBody {
    inner: Body,
    bytes_out: u64,
    pending: Option<(Entry, u16, Arc<Stats>)>,
}

impl LoggedBody {
    fn emit(&mut self) {
        if let Some((entry, status, stats)) = self.pending.take() {
            stats.record(status, &entry.flags);
            tracing::info!(target: "access", "{}", entry.line(status, self.bytes_out));
        }
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        // Every field is `Unpin` (the inner body is boxed), so plain `&mut` access is fine.
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes_out += data.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.emit(),
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

impl Drop for LoggedBody {
    /// The caller may never read the body to the end (it hung up, or the body was empty and
    /// never polled): log anyway.
    fn drop(&mut self) {
        self.emit();
    }
}
