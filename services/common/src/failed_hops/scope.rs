//! The collector of one request: a tokio task-local.
//!
//! A handler does not hand its peers' answers to the server, and should not have to: the
//! failures travel beside the handler's own code. A *task-local* is a value that belongs to the
//! code running inside one future: [`pass_on`] sets a fresh collector around the request, and
//! [`collect`], called by a client deep inside the handler, finds the collector of the request
//! it is serving and no other, even with many requests served at once on the same threads.
//!
//! Everything the handler's future runs sees the collector, the peer calls joined with
//! `tokio::join!` included: they are polled by that future. A task started with `tokio::spawn`
//! is a future of its own and does not see it, so its calls are not collected (productpage's
//! extra "flood" calls are such tasks: they are load, not the page).

use std::cell::RefCell;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;

use super::FailedHops;

tokio::task_local! {
    /// The failures seen so far by the request being served. A `RefCell` is enough: only the
    /// request's own future touches it, never two threads at once.
    static SEEN: RefCell<FailedHops>;
}

/// Notes the failures a peer's answer names (see `hops`). The clients call it on every answer
/// they get; outside a request (a spawned task, a test calling a client directly) it does
/// nothing.
pub fn collect(answer: &HeaderMap) {
    let _ = SEEN.try_with(|seen| seen.borrow_mut().read(answer));
}

/// Serves `request` with a collector of its own, then adds the failures collected to the
/// response's headers. A middleware that `server` puts around every router; the body, the
/// page a user reads, is never touched.
pub async fn pass_on(request: Request, next: Next) -> Response {
    let (mut response, seen) = SEEN
        .scope(RefCell::new(FailedHops::default()), async move {
            let response = next.run(request).await;
            (response, SEEN.with(RefCell::take))
        })
        .await;
    seen.write(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::HeaderValue;
    use tower::ServiceExt as _;

    use super::*;
    use crate::failed_hops::FAILED_HOP;

    fn failed(hop: &'static str) -> HeaderMap {
        let mut answer = HeaderMap::new();
        answer.insert(FAILED_HOP, HeaderValue::from_static(hop));
        answer
    }

    async fn hops_of(app: Router) -> Vec<String> {
        let app = app.layer(axum::middleware::from_fn(pass_on));
        let request = Request::get("/").body(Body::empty()).expect("a request");
        let response = app.oneshot(request).await.expect("infallible");
        response
            .headers()
            .get_all(FAILED_HOP)
            .iter()
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .collect()
    }

    #[tokio::test]
    async fn calls_joined_by_the_handler_are_collected() {
        let app = Router::new().route(
            "/",
            get(|| async {
                let details = async { collect(&failed("productpage-v1 -> details:9080")) };
                let reviews = async { collect(&failed("productpage-v1 -> reviews:9080")) };
                tokio::join!(details, reviews);
                "page"
            }),
        );
        assert_eq!(
            hops_of(app).await,
            [
                "productpage-v1 -> details:9080",
                "productpage-v1 -> reviews:9080"
            ]
        );
    }

    #[tokio::test]
    async fn each_request_has_its_own_collector() {
        let app = Router::new().route(
            "/",
            get(|| async {
                collect(&failed("productpage-v1 -> reviews:9080"));
                "page"
            }),
        );
        assert_eq!(hops_of(app.clone()).await.len(), 1);
        assert_eq!(hops_of(app).await.len(), 1);
    }

    #[tokio::test]
    async fn spawned_tasks_and_calls_outside_a_request_are_not_collected() {
        collect(&failed("nobody -> nowhere"));
        let app = Router::new().route(
            "/",
            get(|| async {
                let flood = tokio::spawn(async { collect(&failed("flood -> reviews:9080")) });
                let _ = flood.await;
                "page"
            }),
        );
        assert!(hops_of(app).await.is_empty());
    }
}
