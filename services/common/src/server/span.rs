//! The handler span: one server span per request, joined to the caller's trace.
//!
//! [`HandlerSpanLayer`] wraps the whole router. For each request it reads the trace context the
//! request carries (`traceparent`, B3: see `propagation::trace_context`), opens a server span
//! whose parent is that context, and runs the request inside it under the instance's own
//! dispatcher (see `telemetry`), so every span the handler opens (peer calls, queries) is a
//! child of this one and is exported by this instance. When the response is ready, the span
//! gets its status code, and the error status for a 5xx (a 4xx is the client's fault, not the
//! server's, as OpenTelemetry's HTTP conventions say).
//!
//! The span is named by the route template (`GET /reviews/{id}`), never the raw path, which
//! would put ids and user input in a name. Only the router knows the template, so
//! [`record_route`], a middleware that `http::with_json_fallbacks` adds to every router, writes
//! it into the current span once routing is done. A request that matched no route keeps the
//! method alone as its name.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::TraceContextExt as _;
use tracing::field::Empty;
use tracing::instrument::{Instrument as _, WithSubscriber as _};
use tracing::{Dispatch, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::propagation::trace_context;

/// Opens a server span around each request, in `dispatch`. See the module docs.
#[derive(Debug, Clone)]
pub struct HandlerSpanLayer {
    dispatch: Dispatch,
}

impl HandlerSpanLayer {
    /// Spans made in `dispatch`, the instance's own (`Telemetry::dispatch`).
    pub fn new(dispatch: Dispatch) -> Self {
        Self { dispatch }
    }
}

impl<S> tower::Layer<S> for HandlerSpanLayer {
    type Service = HandlerSpan<S>;

    fn layer(&self, inner: S) -> HandlerSpan<S> {
        HandlerSpan {
            inner,
            dispatch: self.dispatch.clone(),
        }
    }
}

/// The service [`HandlerSpanLayer`] makes.
#[derive(Debug, Clone)]
pub struct HandlerSpan<S> {
    inner: S,
    dispatch: Dispatch,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, ResBody> tower::Service<http::Request<B>> for HandlerSpan<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let span = tracing::dispatcher::with_default(&self.dispatch, || {
            let method = request.method();
            let span = tracing::info_span!(
                "request",
                otel.name = %method,
                otel.kind = "server",
                otel.status_code = Empty,
                http.request.method = %method,
                http.route = Empty,
                http.response.status_code = Empty,
            );
            // Fails only when the span is disabled; it then simply has no parent.
            let _ = span.set_parent(trace_context::extract(request.headers()));
            span
        });
        let answered = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let finished = span.clone();
        let traced = async move {
            let result = answered.await;
            if let Ok(response) = &result {
                let status = response.status();
                finished.record("http.response.status_code", status.as_u16());
                if status.is_server_error() {
                    finished.record("otel.status_code", "ERROR");
                }
            }
            result
        };
        Box::pin(
            traced
                .instrument(span)
                .with_subscriber(self.dispatch.clone()),
        )
    }
}

/// Names the current span by the matched route: `GET /reviews/{id}`. A middleware on every
/// service's router (`http::with_json_fallbacks`); without a handler span it does nothing.
pub async fn record_route(request: Request, next: Next) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        let span = Span::current();
        if !span.is_disabled() {
            span.record("http.route", route.as_str());
            // The OpenTelemetry span started when the request entered it, and a recorded
            // `otel.name` only names a span that has not started yet: rename it directly.
            let name = format!("{} {}", request.method(), route.as_str());
            span.context().span().update_name(name);
        }
    }
    next.run(request).await
}
