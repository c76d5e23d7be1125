//! The OTLP trace receiver: the `TraceService` of OpenTelemetry's collector protocol over gRPC,
//! which the sidecars' and the services' exporters send their spans to, as they would to Jaeger
//! or an OpenTelemetry Collector. Spans go into the [`TraceStore`] as the pages read them.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use tonic::{Request, Response, Status};

use super::store::{SpanRecord, TraceStore};

pub struct Receiver {
    pub store: Arc<TraceStore>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut by_trace: HashMap<String, Vec<SpanRecord>> = HashMap::new();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans
                .resource
                .map(|resource| resource.attributes)
                .unwrap_or_default();
            let service = string_attribute(&resource, "service.name")
                .unwrap_or_else(|| "unknown_service".to_string());
            let version = string_attribute(&resource, "service.version");
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    // A span with a malformed trace id cannot join any trace: it is left out.
                    let Some(trace_id) = hex_id(&span.trace_id, 16) else {
                        continue;
                    };
                    let Some(record) = record(span, &service, version.as_deref()) else {
                        continue;
                    };
                    by_trace.entry(trace_id).or_default().push(record);
                }
            }
        }
        for (trace_id, spans) in by_trace {
            self.store.add(trace_id, spans);
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn record(span: Span, service: &str, version: Option<&str>) -> Option<SpanRecord> {
    let span_id = hex_id(&span.span_id, 8)?;
    let attributes: Vec<(String, String)> = span
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect();
    let status = span.status.unwrap_or_default();
    let http_status = ["http.response.status_code", "http.status_code"]
        .iter()
        .find_map(|key| attributes.iter().find(|(k, _)| k == key))
        .and_then(|(_, value)| value.parse::<u16>().ok());
    Some(SpanRecord {
        span_id,
        parent_span_id: hex_id(&span.parent_span_id, 8),
        service: service.to_string(),
        service_version: version.map(str::to_string),
        kind: kind_name(span.kind),
        start_unix_nanos: span.start_time_unix_nano,
        end_unix_nanos: span.end_time_unix_nano.max(span.start_time_unix_nano),
        // An error status, or a 5xx answer from a span that did not set its status.
        error: status.code == status::StatusCode::Error as i32
            || http_status.is_some_and(|code| code >= 500),
        status_message: status.message,
        name: span.name,
        attributes,
    })
}

fn kind_name(kind: i32) -> &'static str {
    match span::SpanKind::try_from(kind) {
        Ok(span::SpanKind::Server) => "server",
        Ok(span::SpanKind::Client) => "client",
        Ok(span::SpanKind::Producer) => "producer",
        Ok(span::SpanKind::Consumer) => "consumer",
        Ok(span::SpanKind::Internal) => "internal",
        _ => "unspecified",
    }
}

/// Lowercase hex of an id of `len` bytes; `None` for a missing, all-zero or odd-sized id.
fn hex_id(bytes: &[u8], len: usize) -> Option<String> {
    if bytes.len() != len || bytes.iter().all(|&b| b == 0) {
        return None;
    }
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| text(kv.value.as_ref()))
}

/// An attribute value as the pages print it.
fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::ArrayValue(array)) => {
            let items: Vec<String> = array.values.iter().map(|v| text(Some(v))).collect();
            format!("[{}]", items.join(", "))
        }
        Some(any_value::Value::BytesValue(bytes)) => format!("<{} bytes>", bytes.len()),
        Some(_) => "<structured>".to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_have_their_size_and_not_be_zero() {
        assert_eq!(
            hex_id(&[0xab, 1, 0, 0, 0, 0, 0, 2], 8).as_deref(),
            Some("ab01000000000002")
        );
        assert_eq!(hex_id(&[0; 8], 8), None);
        assert_eq!(hex_id(&[1; 7], 8), None);
        assert_eq!(hex_id(&[], 8), None);
    }
}
