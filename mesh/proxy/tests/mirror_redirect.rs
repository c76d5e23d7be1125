//! `mirror` and `redirect` rules over real sockets.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use support::{Mesh, upstream};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An upstream that records `HOST PATH` of every request it gets.
struct Recorder {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }

    /// Wait until `n` requests arrived (at most 10 s).
    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the mirror got {:?}, expected {n} copies", self.seen());
    }
}

async fn recorder() -> Recorder {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = Router::new().fallback(move |request: axum::extract::Request| {
        let log = log.clone();
        async move {
            let host = request
                .headers()
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            log.lock()
                .expect("lock")
                .push(format!("{host} {}", request.uri().path()));
            "mirror answer, to be discarded"
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Recorder { addr, seen, task }
}

fn mirrored(host: &str, percent: u32) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {host}
spec:
  hosts: [{host}]
  http:
  - route:
    - destination:
        host: {host}
    mirror:
      host: shadow
    mirrorPercentage:
      value: {percent}
"
    )
}

#[tokio::test]
async fn mirror_sends_copies_with_a_shadow_host_and_the_caller_gets_the_primary_answer() {
    let (reviews, ratings, shadow) = (upstream("v1").await, upstream("r1").await, recorder().await);
    let mesh = Mesh::start(
        &[
            ("reviews", vec![(reviews.addr, "v1")]),
            ("ratings", vec![(ratings.addr, "v1")]),
            ("shadow", vec![(shadow.addr, "v1")]),
        ],
        &[
            ("reviews.yaml", mirrored("reviews", 100)),
            ("ratings.yaml", mirrored("ratings", 0)),
        ],
    )
    .await;
    // 0 %: nothing is copied (sent first, so their copies would have arrived by the end).
    for _ in 0..5 {
        let (status, _, body) = mesh.get("http://ratings:9080/ratings/0", None).await;
        assert_eq!((status, body.as_str()), (200, "r1"));
    }
    for i in 0..3 {
        let (status, _, body) = mesh
            .get(&format!("http://reviews:9080/reviews/{i}"), None)
            .await;
        assert_eq!((status, body.as_str()), (200, "v1"), "the primary answers");
    }
    let mut seen = shadow.wait_for(3).await;
    seen.sort();
    assert_eq!(
        seen,
        [
            "reviews-shadow:9080 /reviews/0",
            "reviews-shadow:9080 /reviews/1",
            "reviews-shadow:9080 /reviews/2"
        ]
    );
    assert_eq!(reviews.hits(), 3);
}

#[tokio::test]
async fn a_mirror_that_is_down_does_not_fail_the_request() {
    let reviews = upstream("v1").await;
    let mesh = Mesh::start(
        &[
            ("reviews", vec![(reviews.addr, "v1")]),
            ("shadow", vec![(support::refused_addr(), "v1")]),
        ],
        &[("reviews.yaml", mirrored("reviews", 100))],
    )
    .await;
    let (status, flags, body) = mesh.get("http://reviews:9080/reviews/0", None).await;
    assert_eq!((status, flags.as_str(), body.as_str()), (200, "", "v1"));
}

const REDIRECT: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: details
spec:
  hosts: [details]
  http:
  - match:
    - uri:
        prefix: /old
    redirect:
      uri: /details/0
  - match:
    - uri:
        prefix: /moved
    redirect:
      authority: reviews
      port: 9081
      redirectCode: 302
  - route:
    - destination:
        host: details
";

#[tokio::test]
async fn redirect_rules_are_answered_by_the_proxy() {
    let details = upstream("details").await;
    let mesh = Mesh::start(
        &[("details", vec![(details.addr, "v1")])],
        &[("details.yaml", REDIRECT.to_owned())],
    )
    .await;
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(format!("http://{}", mesh.outbound)).expect("proxy url"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let location = |response: &reqwest::Response| {
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let response = client
        .get("http://details:9080/old/page?x=1")
        .send()
        .await
        .expect("redirect");
    assert_eq!(response.status(), 301, "redirectCode defaults to 301");
    assert_eq!(location(&response), "http://details:9080/details/0?x=1");
    let response = client
        .get("http://details:9080/moved/here")
        .send()
        .await
        .expect("redirect");
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "http://reviews:9081/moved/here");
    assert_eq!(details.hits(), 0, "a redirect never reaches the upstream");
    let (status, _, body) = mesh.get("http://details:9080/details/0", None).await;
    assert_eq!((status, body.as_str()), (200, "details"));
}
