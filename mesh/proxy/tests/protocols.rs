//! HTTP/2 cleartext (h2c) and gRPC through the proxy, over real sockets: an upstream is spoken
//! to in the protocol the request came in, and HTTP/2 trailers (`grpc-status`) pass through.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use support::Mesh;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A gRPC-like upstream on HTTP/1.1 and h2c: answers `version=... host=... te=...` and, on
/// HTTP/2, the trailers `grpc-status: 0` and `grpc-message: ok`.
struct GrpcUpstream {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for GrpcUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn grpc_upstream() -> GrpcUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service_fn(|request: Request<Incoming>| async move {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned()
                };
                let text = format!(
                    "version={:?} host={} te={}",
                    request.version(),
                    header("host"),
                    header("te")
                );
                let http2 = request.version() == Version::HTTP_2;
                let body = request.into_body().collect().await.expect("request body");
                let got = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                let trailers = http2.then(|| {
                    let mut trailers = HeaderMap::new();
                    trailers.insert("grpc-status", HeaderValue::from_static("0"));
                    trailers.insert("grpc-message", HeaderValue::from_static("ok"));
                    trailers
                });
                let body = mesh_proxy::body::with_trailers(
                    Bytes::from(format!("{text} body={got}")),
                    trailers,
                );
                Ok::<_, Infallible>(Response::new(body))
            });
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    GrpcUpstream { addr, task }
}

/// An h2c (prior knowledge) connection to the proxy's outbound listener, as a gRPC client
/// whose channel points at its sidecar: `:authority` names the service.
async fn h2c_client(
    mesh: &Mesh,
) -> hyper::client::conn::http2::SendRequest<mesh_proxy::body::Body> {
    let stream = TcpStream::connect(mesh.outbound).await.expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2c handshake with the proxy");
    tokio::spawn(connection);
    sender
}

#[tokio::test]
async fn an_h2c_request_reaches_the_upstream_over_http2() {
    let upstream = grpc_upstream().await;
    let mesh = Mesh::start(&[("echo", vec![(upstream.addr, "v1")])], &[]).await;
    let mut client = h2c_client(&mesh).await;
    let request = Request::builder()
        .uri("http://echo:9080/hello")
        .version(Version::HTTP_2)
        .body(mesh_proxy::body::full("hi"))
        .expect("request");
    let response = client.send_request(request).await.expect("h2c response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), Version::HTTP_2);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(body.starts_with("version=HTTP/2.0"), "upstream saw: {body}");
    assert!(body.ends_with("body=hi"), "upstream saw: {body}");
}

#[tokio::test]
async fn an_http1_request_reaches_the_upstream_over_http1_on_the_same_port() {
    let upstream = grpc_upstream().await;
    let mesh = Mesh::start(&[("echo", vec![(upstream.addr, "v1")])], &[]).await;
    let (status, _, body) = mesh.get("http://echo:9080/hello", None).await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("version=HTTP/1.1 host=echo:9080"),
        "upstream saw: {body}"
    );
}

#[tokio::test]
async fn grpc_trailers_pass_back_through_the_proxy() {
    let upstream = grpc_upstream().await;
    let mesh = Mesh::start(&[("greeter", vec![(upstream.addr, "v1")])], &[]).await;
    let mut client = h2c_client(&mesh).await;
    // A gRPC message: 1 byte "not compressed", 4 bytes length, the payload.
    let frame = Bytes::from_static(b"\x00\x00\x00\x00\x03abc");
    let request = Request::builder()
        .method("POST")
        .uri("http://greeter:50051/helloworld.Greeter/SayHello")
        .version(Version::HTTP_2)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(mesh_proxy::body::full(frame))
        .expect("request");
    let response = client.send_request(request).await.expect("gRPC response");
    assert_eq!(response.status(), 200);
    let collected = response.into_body().collect().await.expect("body");
    let trailers = collected
        .trailers()
        .cloned()
        .expect("trailers passed through");
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["grpc-message"], "ok");
    let body = collected.to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("te=trailers"),
        "gRPC needs TE: trailers upstream: {body}"
    );
    assert!(body.contains("host=greeter:50051"), "upstream saw: {body}");
}
