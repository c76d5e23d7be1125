//! Hop-by-hop headers through a real proxy: an HTTP/1.1 caller's `TE: trailers` is not passed
//! to an HTTP/1.1 upstream (it belongs to the caller's connection, and only HTTP/2 upstreams
//! get `TE: trailers`, see `mesh_proxy::headers`), while an ordinary header is.

mod support;

use axum::Router;
use tokio::net::TcpListener;

use support::Mesh;

#[tokio::test]
async fn te_trailers_is_not_passed_to_an_http1_upstream() {
    // An upstream that answers with the `te` and `x-kept` headers it received.
    let app = Router::new().fallback(|request: axum::extract::Request| async move {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        format!("te={} x-kept={}", header("te"), header("x-kept"))
    });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mesh = Mesh::start(&[("reviews", vec![(addr, "v1")])], &[]).await;
    let response = mesh
        .client
        .get("http://reviews:9080/reviews/0")
        .header("te", "trailers")
        .header("x-kept", "1")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "te=- x-kept=1");
}
