//! Sending spans to a collector over OTLP/gRPC (`--otlp-endpoint`), off the request path.
//!
//! A request that ends a span only hands it to the SDK's batch processor, which queues it
//! without waiting (a full queue drops the span) and sends batches from a thread of its own
//! every second. The gRPC channel the batches go through needs a tokio runtime of its own
//! too: a one-thread runtime kept here, so that even the encoding and the network work of an
//! export never run on the threads that serve requests.
//!
//! A collector that is down or unreachable costs dropped spans and one warning line when
//! exports start failing (and an info line when they work again), never a slower request: an
//! export is tried once, bounded by a timeout, and its failure is not retried.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{RetryPolicy, WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, SpanData,
    SpanExporter,
};

use super::identity::Identity;

/// How long one export may take before it is given up (its spans dropped).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often queued spans are sent.
const BATCH_DELAY: Duration = Duration::from_secs(1);
/// How long stopping the proxy waits for the last spans to go out.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// The pipeline from ended spans to the collector.
pub struct Export {
    provider: SdkTracerProvider,
    /// Drives the gRPC channel; `None` once stopped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Export {
    /// Spans of this proxy (`identity`) to the collector at `endpoint` (`http://HOST:PORT`).
    /// Nothing is connected yet: the channel connects at the first export, and again after a
    /// failure.
    pub fn start(endpoint: &str, identity: &Identity) -> anyhow::Result<Export> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-export")
            .enable_all()
            .build()?;
        let exporter = {
            // The channel's background task is spawned on the runtime current at build time.
            let _inside = runtime.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(EXPORT_TIMEOUT)
                .with_retry_policy(RetryPolicy::disabled())
                .build()?
        };
        let processor = BatchSpanProcessor::builder(Quiet {
            inner: exporter,
            endpoint: endpoint.to_owned(),
            failing: AtomicBool::new(false),
        })
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(BATCH_DELAY)
                .build(),
        )
        .build();
        let resource = Resource::builder_empty()
            .with_service_name(identity.service_name())
            .with_attributes([
                KeyValue::new("k8s.namespace.name", identity.namespace.clone()),
                KeyValue::new("service.instance.id", identity.workload.clone()),
            ])
            .build();
        let provider = SdkTracerProvider::builder()
            // Only sampled requests start a span at all (see `super::sampling`).
            .with_sampler(Sampler::AlwaysOn)
            .with_span_processor(processor)
            .with_resource(resource)
            .build();
        Ok(Export {
            provider,
            runtime: Some(runtime),
        })
    }

    /// The tracer every span of this proxy is started with.
    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer("mesh-proxy")
    }

    /// Send what is queued and stop (blocks for at most [`SHUTDOWN_TIMEOUT`]).
    pub fn stop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let _ = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
        // Not a blocking drop: this may run inside the proxy's own runtime.
        runtime.shutdown_background();
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The OTLP exporter, saying once that the collector cannot be reached instead of once per
/// batch (the SDK would log every failed export as an error).
#[derive(Debug)]
struct Quiet {
    inner: opentelemetry_otlp::SpanExporter,
    endpoint: String,
    /// The last export failed.
    failing: AtomicBool,
}

impl SpanExporter for Quiet {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        match self.inner.export(batch).await {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(endpoint = %self.endpoint, "spans reach the collector again");
                }
            }
            Err(error) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        %error,
                        spans,
                        "cannot export spans to the collector; dropping them until it answers"
                    );
                }
            }
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
