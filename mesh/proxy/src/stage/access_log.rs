//! Stage `access_log`: one line per request, in the spirit of Envoy's default format.
//!
//! ```text
//! [2026-11-26T10:00:00.123Z] "GET /reviews/0 HTTP/1.1" 200 - 0 295 3 "127.0.0.1:9102" "reviews/http[1]" "5b0c9c1e-7a4f-4e1b-9d3a-2f6c8e0a1b2c" "4bf92f3577b34da6a3ce929d0e0e4736"
//!  start                      method path protocol      |  |  | |   |  upstream host    route name        x-request-id                           trace id
//!                                                 status  |  | |   duration, ms (to the last byte)
//!                                         response flags  |  bytes sent to the caller
//!                                                  bytes received from the caller
//! ```
//!
//! The `x-request-id` and the trace id (see `crate::trace`) are the same on every hop of a
//! request, so they find its lines in the logs of every proxy it crossed, and its trace.
//!
//! The line is made when the response body has been fully sent (or dropped, if the caller
//! went away), so the byte count and the duration cover the whole exchange. It goes to standard
//! output through [`crate::log_buffer`], which writes lines in batches (`--access-log off`
//! turns it off). The same moment updates `/stats` and Istio's metrics (`crate::metrics`,
//! labelled with the entry's [`Call`]).
//!
//! This runs for every request, so it avoids work it does not need: the method and path are
//! kept as the request's own shared buffers (no copy), and the line is written straight into
//! the log buffer (no `String` per line).

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::uri::PathAndQuery;
use http::{Method, Request, Response, Version};
use time::OffsetDateTime;

use crate::Proxy;
use crate::body::{Body, BodyEnd, OnEnd, WatchedBody};
use crate::flags::{Flag, Flags};
use crate::metrics::{Call, Protocol, Reporter};
use crate::trace::RequestTrace;

/// What the log line needs, filled in by the stages as the request goes.
#[derive(Debug)]
pub struct Entry {
    started_at: OffsetDateTime,
    started: Instant,
    method: Method,
    /// `None` stands for `/` (a request line cannot have an empty path).
    path: Option<PathAndQuery>,
    protocol: &'static str,
    /// Envoy's response flags set on this request (see [`crate::flags`]).
    pub flags: Flags,
    pub bytes_in: u64,
    pub upstream: Option<SocketAddr>,
    pub route_name: String,
    /// The request's trace: its ids for the line, its span, ended with the line.
    pub trace: RequestTrace,
    /// What Istio's metrics label the request with (the outbound side's by default).
    pub call: Call,
}

impl Entry {
    /// Start the clock for a request.
    pub fn start<B>(request: &Request<B>) -> Entry {
        Entry {
            started_at: OffsetDateTime::now_utc(),
            started: Instant::now(),
            method: request.method().clone(),
            path: request.uri().path_and_query().cloned(),
            protocol: match request.version() {
                Version::HTTP_10 => "HTTP/1.0",
                Version::HTTP_2 => "HTTP/2",
                _ => "HTTP/1.1",
            },
            flags: Flags::new(),
            bytes_in: 0,
            upstream: None,
            route_name: String::new(),
            trace: RequestTrace::default(),
            call: Call::new(Reporter::Source, Protocol::of(request.headers())),
        }
    }

    /// The time since the request arrived.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Attach the entry to the response: it is logged when the body ends.
    pub fn finish(mut self, response: Response<Body>, proxy: Arc<Proxy>) -> Response<LoggedBody> {
        if self.call.protocol == Protocol::Grpc {
            // A gRPC error without a body ("trailers-only") carries its status in the headers.
            self.call.grpc_status = grpc_status(response.headers());
        }
        // A caller that went away (`DC`) is not there to receive a status: logged and counted
        // as 0, as Envoy does, and as `InFlight` does for a request dropped unanswered.
        let status = if self.flags.contains(Flag::DownstreamConnectionTermination) {
            0
        } else {
            response.status().as_u16()
        };
        response.map(|inner| {
            WatchedBody::new(
                inner,
                Unlogged {
                    entry: self,
                    status,
                    proxy,
                },
            )
        })
    }

    /// Append the line (without its newline) to `out`. Numbers are written with `itoa` and
    /// the date and time up to the second come from a per-thread cache: this is the access
    /// log's whole cost per request, so it avoids the general formatting machinery.
    fn write_line(&self, out: &mut Vec<u8>, status: u16, bytes_out: u64) {
        let mut numbers = itoa::Buffer::new();
        write_timestamp(out, self.started_at);
        out.extend_from_slice(b" \"");
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        let path = self.path.as_ref().map_or("/", PathAndQuery::as_str);
        out.extend_from_slice(path.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.protocol.as_bytes());
        out.extend_from_slice(b"\" ");
        out.extend_from_slice(numbers.format(status).as_bytes());
        out.push(b' ');
        if self.flags.is_empty() {
            out.push(b'-');
        } else {
            for (i, flag) in self.flags.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(flag.as_str().as_bytes());
            }
        }
        for number in [
            self.bytes_in,
            bytes_out,
            u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ] {
            out.push(b' ');
            out.extend_from_slice(numbers.format(number).as_bytes());
        }
        out.extend_from_slice(b" \"");
        match self.upstream {
            Some(address) => write_address(out, address),
            None => out.push(b'-'),
        }
        out.extend_from_slice(b"\" \"");
        if self.route_name.is_empty() {
            out.push(b'-');
        } else {
            out.extend_from_slice(self.route_name.as_bytes());
        }
        out.extend_from_slice(b"\" \"");
        self.trace.request_id().write_to(out);
        out.extend_from_slice(b"\" \"");
        self.trace.write_trace_id(out);
        out.push(b'"');
    }

    /// The line as text (tests and debugging).
    pub fn line(&self, status: u16, bytes_out: u64) -> String {
        let mut out = Vec::new();
        self.write_line(&mut out, status, bytes_out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// `[2026-11-26T10:00:00.123Z]`. The part up to the second changes once a second, so it is
/// formatted then and kept (per thread, so no lock).
fn write_timestamp(out: &mut Vec<u8>, at: OffsetDateTime) {
    thread_local! {
        static UP_TO_SECOND: std::cell::RefCell<(i64, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let second = at.unix_timestamp();
    UP_TO_SECOND.with_borrow_mut(|(cached_second, text)| {
        if *cached_second != second {
            *cached_second = second;
            *text = format!(
                "[{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            );
        }
        out.extend_from_slice(text.as_bytes());
    });
    let millis = at.millisecond();
    out.extend_from_slice(&[
        b'0' + (millis / 100) as u8,
        b'0' + (millis / 10 % 10) as u8,
        b'0' + (millis % 10) as u8,
        b'Z',
        b']',
    ]);
}

/// An endpoint address; IPv4 (every local endpoint) without the formatting machinery.
fn write_address(out: &mut Vec<u8>, address: SocketAddr) {
    let mut numbers = itoa::Buffer::new();
    match address {
        SocketAddr::V4(v4) => {
            for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(numbers.format(octet).as_bytes());
            }
            out.push(b':');
            out.extend_from_slice(numbers.format(v4.port()).as_bytes());
        }
        SocketAddr::V6(_) => {
            let _ = write!(out, "{address}");
        }
    }
}

/// A request whose answer is not ready yet. If the request is dropped before it is (the caller
/// hung up, and hyper dropped the request's future), the line is still written, with status `0`
/// and the flag `DC` (downstream connection termination), as Envoy does: a request that took
/// six seconds and was then abandoned must show in the log.
pub struct InFlight {
    entry: Entry,
    proxy: Arc<Proxy>,
    answered: bool,
}

impl InFlight {
    /// Start the clock for a request.
    pub fn start<B>(request: &Request<B>, proxy: Arc<Proxy>) -> InFlight {
        InFlight {
            entry: Entry::start(request),
            proxy,
            answered: false,
        }
    }

    /// What the stages fill in.
    pub fn entry(&mut self) -> &mut Entry {
        &mut self.entry
    }

    /// The answer is ready: the line is written when its body ends ([`Entry::finish`]).
    pub fn finish(mut self, response: Response<Body>) -> Response<LoggedBody> {
        self.answered = true;
        let placeholder = Entry {
            started_at: OffsetDateTime::UNIX_EPOCH,
            started: self.entry.started,
            method: Method::GET,
            path: None,
            protocol: "",
            flags: Flags::new(),
            bytes_in: 0,
            upstream: None,
            route_name: String::new(),
            trace: RequestTrace::default(),
            call: self.entry.call,
        };
        let entry = std::mem::replace(&mut self.entry, placeholder);
        entry.finish(response, self.proxy.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        self.entry
            .flags
            .insert(Flag::DownstreamConnectionTermination);
        self.proxy.stats.record(0, self.entry.flags);
        let entry = &mut self.entry;
        let (flags, bytes_in, upstream) = (entry.flags, entry.bytes_in, entry.upstream);
        entry.trace.end(0, flags, bytes_in, 0, upstream);
        let entry = &self.entry;
        let elapsed = entry.started.elapsed();
        (self.proxy.metrics).record(&entry.call, 0, entry.flags, elapsed, entry.bytes_in, 0);
        self.proxy
            .access_log
            .push(|out| entry.write_line(out, 0, 0));
    }
}

/// A response body that counts the bytes it passes on and logs the request when it ends, or
/// when it is dropped (the caller may never read the body to the end: it hung up, or the body
/// was empty and never polled).
pub type LoggedBody = WatchedBody<Unlogged>;

/// A request's line, waiting for the end of its response body.
pub struct Unlogged {
    entry: Entry,
    status: u16,
    proxy: Arc<Proxy>,
}

impl OnEnd for Unlogged {
    fn on_trailers(&mut self, trailers: &http::HeaderMap) {
        if self.entry.call.protocol == Protocol::Grpc {
            self.entry.call.grpc_status = grpc_status(trailers).or(self.entry.call.grpc_status);
        }
    }

    fn on_end(self, _end: BodyEnd, bytes_out: u64) {
        let Unlogged {
            mut entry,
            status,
            proxy,
        } = self;
        proxy.stats.record(status, entry.flags);
        let elapsed = entry.started.elapsed();
        (proxy.metrics).record(
            &entry.call,
            status,
            entry.flags,
            elapsed,
            entry.bytes_in,
            bytes_out,
        );
        let (flags, bytes_in, upstream) = (entry.flags, entry.bytes_in, entry.upstream);
        entry
            .trace
            .end(status, flags, bytes_in, bytes_out, upstream);
        proxy
            .access_log
            .push(|out| entry.write_line(out, status, bytes_out));
    }
}

/// The `grpc-status` of a response's headers or trailers, when it has a number.
fn grpc_status(headers: &http::HeaderMap) -> Option<u32> {
    std::str::from_utf8(headers.get("grpc-status")?.as_bytes())
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_has_envoys_fields_in_order() {
        let request = Request::get("http://reviews:9080/reviews/0?x=1")
            .body(())
            .expect("request");
        let mut entry = Entry::start(&request);
        entry.flags.insert(Flag::UpstreamRetryLimitExceeded);
        entry.flags.insert(Flag::UpstreamConnectionFailure);
        entry.bytes_in = 12;
        entry.upstream = Some(SocketAddr::from(([127, 0, 0, 1], 9102)));
        entry.route_name = "reviews/http[1]".to_owned();
        let line = entry.line(503, 295);
        let (start, rest) = line.split_once("] ").expect("timestamp");
        // [2026-11-26T10:00:00.123Z
        assert_eq!(start.len(), 25, "{line}");
        assert!(start.starts_with('[') && start.ends_with('Z'), "{line}");
        assert_eq!(&start[11..12], "T", "{line}");
        assert_eq!(&start[20..21], ".", "{line}");
        let (fields, duration_and_rest) =
            rest.split_at(rest.find(" 12 295 ").expect("byte counts") + " 12 295 ".len());
        assert_eq!(
            fields, "\"GET /reviews/0?x=1 HTTP/1.1\" 503 UF,URX 12 295 ",
            "flags in the order of Flag::ALL: {line}"
        );
        let (millis, names) = duration_and_rest.split_once(' ').expect("duration");
        assert!(millis.parse::<u64>().is_ok(), "{line}");
        assert_eq!(names, "\"127.0.0.1:9102\" \"reviews/http[1]\" \"-\" \"-\"");
    }

    #[test]
    fn missing_parts_are_dashes() {
        let request = Request::get("/").body(()).expect("request");
        let line = Entry::start(&request).line(200, 0);
        assert!(line.contains("\"GET / HTTP/1.1\" 200 - 0 0 "), "{line}");
        assert!(line.ends_with(" \"-\" \"-\" \"-\" \"-\""), "{line}");
    }
}
