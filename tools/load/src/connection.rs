//! One connection to the target: open it, speak HTTP/1.1 or HTTP/2 on it, send one request.
//!
//! We use hyper's connection-level client (`hyper::client::conn`), not a pooled client such as
//! reqwest: the generator owns its connections, so `-c 4` means exactly four TCP connections,
//! and no pool, DNS lookup or redirect logic costs CPU on the way. hyper splits a connection
//! into a [`Sender`] (what we call) and a connection future that does the socket I/O, which we
//! spawn as its own task.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::stats::ErrorKind;

/// The sending half of an open connection.
pub enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

/// What a request came back with.
pub struct Answer {
    pub status: u16,
    pub body_bytes: u64,
}

/// A request that got no answer.
pub struct Failure {
    pub kind: ErrorKind,
    /// Whether the connection is still usable: an HTTP/2 stream can time out or be reset on
    /// its own, an HTTP/1.1 connection is left in an unknown state by any failure.
    pub connection_ok: bool,
}

/// Opens a TCP connection and does the HTTP handshake, all within `timeout`.
pub async fn connect(
    addr: SocketAddr,
    http2: bool,
    timeout: Duration,
) -> Result<Sender, ErrorKind> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => return Err(ErrorKind::ConnectTimeout),
        Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused => {
            return Err(ErrorKind::ConnectRefused);
        }
        Ok(Err(_)) => return Err(ErrorKind::ConnectFailed),
        Ok(Ok(stream)) => stream,
    };
    // Small requests must leave at once, not wait for more bytes to fill a packet (Nagle).
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(stream);
    if http2 {
        let (sender, connection) = http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|_| ErrorKind::ConnectFailed)?;
        tokio::spawn(connection);
        Ok(Sender::Http2(sender))
    } else {
        let (sender, connection) = http1::handshake(io)
            .await
            .map_err(|_| ErrorKind::ConnectFailed)?;
        tokio::spawn(connection);
        Ok(Sender::Http1(sender))
    }
}

impl Sender {
    /// Another handle on the same connection, for one more concurrent stream: only HTTP/2
    /// multiplexes, an HTTP/1.1 connection carries one exchange at a time.
    pub fn another_stream(&self) -> Option<Sender> {
        match self {
            Sender::Http1(_) => None,
            Sender::Http2(sender) => Some(Sender::Http2(sender.clone())),
        }
    }

    /// Waits until the connection can take a request; `false` when it has closed (for
    /// instance the server ended a keep-alive connection between two requests).
    pub async fn ready(&mut self) -> bool {
        match self {
            Sender::Http1(sender) => sender.ready().await.is_ok(),
            Sender::Http2(sender) => sender.ready().await.is_ok(),
        }
    }

    /// Sends `request` and reads the whole answer, within `timeout`. The body is counted,
    /// not kept.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        let http2 = matches!(self, Sender::Http2(_));
        let exchange = async {
            let response = match self {
                Sender::Http1(sender) => sender.send_request(request).await?,
                Sender::Http2(sender) => sender.send_request(request).await?,
            };
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut body_bytes = 0;
            while let Some(frame) = body.frame().await {
                if let Some(data) = frame?.data_ref() {
                    body_bytes += data.len() as u64;
                }
            }
            Ok::<_, hyper::Error>(Answer { status, body_bytes })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => {
                let kind = classify(&error);
                Err(Failure {
                    kind,
                    connection_ok: http2 && !self.is_closed(),
                })
            }
            // Dropping the exchange resets an HTTP/2 stream; an HTTP/1.1 connection would
            // still carry the late answer, so it has to go.
            Err(_) => Err(Failure {
                kind: ErrorKind::Timeout,
                connection_ok: http2 && !self.is_closed(),
            }),
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(sender) => sender.is_closed(),
            Sender::Http2(sender) => sender.is_closed(),
        }
    }
}

/// Names the cause of a failed exchange, as the report counts them.
fn classify(error: &hyper::Error) -> ErrorKind {
    if error.is_timeout() {
        return ErrorKind::Timeout;
    }
    if error.is_closed() || error.is_incomplete_message() || error.is_canceled() {
        return ErrorKind::Reset;
    }
    // An I/O error underneath: a reset or a broken pipe is the peer hanging up.
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return match io.kind() {
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
                io::ErrorKind::TimedOut => ErrorKind::Timeout,
                _ => ErrorKind::Protocol,
            };
        }
        source = cause.source();
    }
    ErrorKind::Protocol
}
