//! The Discovery service on the wire, written by hand so that every stream sends the same bytes.
//!
//! tonic generates a server for every service of `mesh.proto` (`DiscoveryServer`), and the
//! Admin service uses it. Its encoder, though, takes one message at a time and writes it into a
//! buffer of the stream's own: with a thousand proxies, a push would encode the snapshot a
//! thousand times (a custom `Codec` could copy bytes encoded once instead, but still a thousand
//! copies, each held by its stream until the next message). A snapshot is the same for every
//! proxy, so here it is encoded once ([`Published`](crate::snapshot::Published)) and each
//! stream's HTTP/2 body hands out a clone of the same [`Bytes`]: a pointer and a count, whatever
//! the number of proxies.
//!
//! What the generated server did, and this file now does, for `Discovery/Stream`:
//! 1. route by path: `/sailkit.mesh.v1.Discovery/Stream` (any other method: UNIMPLEMENTED);
//! 2. decode the request body as a stream of `ProxyMessage`s (tonic's [`Streaming`] with
//!    prost's decoder, at most [`MAX_MESSAGE_BYTES`] each);
//! 3. answer with `content-type: application/grpc` and a body of gRPC messages
//!    ([`SnapshotBody`]), ended by trailers with the `grpc-status`; or, when the stream is
//!    refused, with the status alone (a "trailers-only" response, as tonic sends).
//!
//! The proxies are unchanged: they use the generated client, which reads the same bytes. Left
//! out, as the proxies use neither: compression (`grpc-encoding`; a compressed message ends the
//! stream with INTERNAL) and deadlines (`grpc-timeout`; a stream lives as long as its proxy).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use http_body::Frame;
use mesh_api::v1::ProxyMessage;
use mesh_api::v1::discovery_server::SERVICE_NAME;
use tonic::body::Body;
use tonic::codec::{BufferSettings, Streaming};
use tonic::metadata::GRPC_CONTENT_TYPE;
use tonic::server::NamedService;
use tonic::{Code, Status};
use tonic_prost::ProstDecoder;

use super::outbound::SnapshotStream;
use super::{DiscoveryService, MAX_MESSAGE_BYTES};

/// The one method of the service.
const STREAM_PATH: &str = "/sailkit.mesh.v1.Discovery/Stream";

/// The buffer each stream starts with to read the proxy's messages, which are small (an ACK is
/// some 20 bytes; it grows for a larger one). tonic's default, 8 KiB, would be 80 MB of
/// buffers with 10,000 proxies connected.
const DECODE_BUFFER_BYTES: usize = 1024;

impl NamedService for DiscoveryService {
    const NAME: &'static str = SERVICE_NAME;
}

impl tower::Service<http::Request<Body>> for DiscoveryService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() != STREAM_PATH {
            let status = Status::unimplemented(format!("no method {}", request.uri().path()));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let service = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // (The second figure, the yield threshold, is for encoding: tonic's default.)
            let buffers = BufferSettings::new(DECODE_BUFFER_BYTES, 32 * 1024);
            let decoder = ProstDecoder::<ProxyMessage>::new(buffers);
            let messages = Streaming::new_request(decoder, body, None, Some(MAX_MESSAGE_BYTES));
            let request = tonic::Request::from_http(http::Request::from_parts(parts, messages));
            let response = match service.open(request).await {
                Ok(snapshots) => {
                    let mut response = http::Response::new(Body::new(SnapshotBody {
                        snapshots,
                        ended: false,
                    }));
                    response
                        .headers_mut()
                        .insert(http::header::CONTENT_TYPE, GRPC_CONTENT_TYPE);
                    response
                }
                Err(status) => status.into_http(),
            };
            Ok(response)
        })
    }
}

/// The response body of one stream: each snapshot's gRPC message, then the trailers.
struct SnapshotBody {
    snapshots: SnapshotStream,
    /// True once the trailers are out.
    ended: bool,
}

impl http_body::Body for SnapshotBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let frame = match std::task::ready!(self.snapshots.poll_next_unpin(context)) {
            // The bytes encoded once, shared: no copy per stream.
            Some(Ok(published)) => Frame::data(published.frame.clone()),
            Some(Err(status)) => self.end(&status),
            None => self.end(&Status::new(Code::Ok, "")),
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}

impl SnapshotBody {
    /// The trailers that end the stream with `status`.
    fn end(&mut self, status: &Status) -> Frame<Bytes> {
        self.ended = true;
        let mut trailers = http::HeaderMap::new();
        if let Err(unwritable) = status.add_header(&mut trailers) {
            // A message that cannot be a header value: the code alone still tells the proxy.
            trailers.clear();
            trailers.insert(Status::GRPC_STATUS, (status.code() as i32).into());
            tracing::debug!("status message not sent: {unwritable}");
        }
        Frame::trailers(trailers)
    }
}
