//! A real OTLP gRPC trace receiver, for the tests of the spans the services export.
//!
//! [`OtlpReceiver::start`] serves OpenTelemetry's `TraceService` (the generated tonic server of
//! opentelemetry-proto) on `127.0.0.1:0`; a service under test is pointed at
//! [`OtlpReceiver::endpoint`] through `OTEL_EXPORTER_OTLP_ENDPOINT`. Every span received is
//! kept, flattened into a [`ReceivedSpan`] whose ids are in hex, as they appear in headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Shutdown;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

/// One exported span.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The resource's `service.name`.
    pub service: String,
    /// The resource's `service.version`, if any.
    pub service_version: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, or empty for a root span.
    pub parent_span_id: String,
    /// Every attribute, its value printed (`"200"` for an integer 200).
    pub attributes: HashMap<String, String>,
    pub error: bool,
}

impl ReceivedSpan {
    /// The attribute `key`, printed.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// The trace id of the callers the tests play (W3C Trace Context's own example).
pub const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The span id of that caller: the parent the services' first span must have.
pub const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The `traceparent` of that caller, sampled.
pub fn caller_traceparent() -> String {
    format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")
}

/// The one span in `spans` named `name` (and of `service`, when given); fails listing every
/// span otherwise.
pub fn one<'a>(spans: &'a [ReceivedSpan], service: Option<&str>, name: &str) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == name && service.is_none_or(|service| s.service == service))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {service:?} span {name:?} in {spans:#?}"
    );
    found[0]
}

/// The receiver, serving until dropped.
#[derive(Debug)]
pub struct OtlpReceiver {
    /// `http://127.0.0.1:<port>`, the value of `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    shutdown: Shutdown,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl OtlpReceiver {
    /// Starts a receiver on `127.0.0.1:0`.
    pub async fn start() -> Self {
        let listener = crate::listener().await;
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let spans = Arc::new(Mutex::new(Vec::new()));
        let service = TraceServiceServer::new(Collector {
            spans: spans.clone(),
        });
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    stop.cancelled_owned(),
                )
                .await
        });
        Self {
            endpoint: format!("http://{addr}"),
            spans,
            shutdown,
        }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().expect("never poisoned").clone()
    }

    /// The spans received once `done` holds for them, or what came within `timeout` (the
    /// caller's assertions then say what is missing).
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The gRPC service: flattens each export into the shared list.
struct Collector {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let resource = attributes(
                resource_spans
                    .resource
                    .map(|r| r.attributes)
                    .unwrap_or_default(),
            );
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                received.push(ReceivedSpan {
                    service: resource.get("service.name").cloned().unwrap_or_default(),
                    service_version: resource.get("service.version").cloned(),
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: attributes(span.attributes),
                    error: span
                        .status
                        .is_some_and(|s| s.code == StatusCode::Error as i32),
                    name: span.name,
                });
            }
        }
        self.spans.lock().expect("never poisoned").extend(received);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attributes(pairs: Vec<KeyValue>) -> HashMap<String, String> {
    pairs
        .into_iter()
        .map(|kv| (kv.key, kv.value.map(printed).unwrap_or_default()))
        .collect()
}

fn printed(value: AnyValue) -> String {
    match value.value {
        Some(any_value::Value::StringValue(s)) => s,
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
