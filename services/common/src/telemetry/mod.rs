//! Logging and tracing with `tracing`.
//!
//! Every service logs through `tracing`. The level comes from `RUST_LOG` (default `info`), the
//! format from `LOG_FORMAT`: `text` (default, for people) or `json` (for log collectors).
//!
//! The same `tracing` spans become OpenTelemetry spans when `OTEL_EXPORTER_OTLP_ENDPOINT` names
//! a collector (see [`config`]): the handler of each request (`server::span`), each call to a
//! peer (`client::span`) and each database query (`db::query_span`). A [`Telemetry`] holds one
//! service instance's tracer provider, and a `tracing` dispatcher that logs like the global one
//! and also turns spans into OpenTelemetry spans of that provider. The server runs each request
//! under it. A dispatcher per instance rather than one global subscriber is what lets a test,
//! or the monolith's tests, run reviews and ratings in one process, each exporting spans under
//! its own `service.name`.
//!
//! Unset, nothing is built: no provider, no span ids, and the trace headers of the incoming
//! request travel on to peers unchanged (`propagation::forwarded`), so the sidecars' trace stays
//! whole without the services in it.
//!
//! Sampling follows the incoming request's decision (the sidecar's); a request with none starts
//! a trace sampled with the probability `OTEL_TRACES_SAMPLER_ARG` (default 1: every one).

pub mod config;

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Dispatch;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use config::TracingConfig;

/// The instrumentation scope of every span the services make.
const SCOPE: &str = "sailkit";

/// The longest a stopping service waits for its last spans to be exported.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// Installs the global subscriber, which logs. Safe to call twice: the second call does
/// nothing, which keeps tests that start several services in one process simple.
pub fn init() {
    let _ = Registry::default().with(log_layer()).try_init();
}

/// The log lines: `RUST_LOG`'s filter, `LOG_FORMAT`'s format.
fn log_layer<S>() -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A log line that cannot be written (the launcher that read our output is gone) must not
    // take the service down: without this, the subscriber reports its own write error with a
    // panicking `eprintln!`.
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .log_internal_errors(false);
    if json {
        layer.json().with_filter(filter).boxed()
    } else {
        layer.compact().with_filter(filter).boxed()
    }
}

/// One service instance's tracing: its provider and the dispatcher its requests run under.
/// `None` inside when no collector is configured.
#[derive(Debug, Default)]
pub struct Telemetry {
    exporting: Option<Exporting>,
}

#[derive(Debug)]
struct Exporting {
    provider: SdkTracerProvider,
    dispatch: Dispatch,
}

impl Telemetry {
    /// No tracing: requests run under the global subscriber and only log.
    pub fn off() -> Self {
        Self::default()
    }

    /// Starts tracing as `config` says. With an endpoint, spans are batched and sent by a
    /// background thread; the gRPC channel connects lazily, so a collector that is not up yet
    /// costs dropped spans and a log line, never the start. Call inside the Tokio runtime.
    pub fn start(config: &TracingConfig) -> Result<Self, opentelemetry_otlp::ExporterBuildError> {
        let Some(endpoint) = &config.otlp_endpoint else {
            return Ok(Self::off());
        };
        let exporter = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        let mut resource = Resource::builder_empty().with_service_name(config.service_name.clone());
        if let Some(version) = &config.service_version {
            resource = resource.with_attribute(KeyValue::new("service.version", version.clone()));
        }
        // The sidecar in front decided whether this trace is sampled: follow it. Only a
        // request that carries no decision starts a trace of our own, by the ratio.
        let sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sampler_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_resource(resource.build())
            .with_sampler(sampler)
            .with_batch_exporter(exporter)
            .build();
        let spans = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(SCOPE))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_target(false)
            // Our spans are at `info`; `RUST_LOG` filters log lines, not which spans exist.
            .with_filter(LevelFilter::INFO);
        let dispatch = Dispatch::new(Registry::default().with(log_layer()).with(spans));
        Ok(Self {
            exporting: Some(Exporting { provider, dispatch }),
        })
    }

    /// The dispatcher that exports this instance's spans, when tracing is on.
    pub fn dispatch(&self) -> Option<&Dispatch> {
        self.exporting.as_ref().map(|e| &e.dispatch)
    }

    /// Sends the spans still in the batch and stops the exporter. Called once the server has
    /// drained, so the last requests' spans are not lost on shutdown.
    pub async fn flush(self) {
        let Some(Exporting { provider, .. }) = self.exporting else {
            return;
        };
        // `shutdown` blocks until the batch thread has exported, which needs this runtime's
        // other threads to drive the gRPC channel: wait for it off the async threads. A
        // collector that does not answer must not hold the stop (the images must stop within
        // 2 s): what is not sent within `FLUSH_TIMEOUT` is dropped.
        let stopped =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT))
                .await;
        match stopped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the last spans could not be exported"),
            Err(error) => tracing::warn!(%error, "the span exporter did not stop"),
        }
    }
}
