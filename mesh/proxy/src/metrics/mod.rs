//! Istio's standard metrics: `istio_requests_total`, `istio_request_duration_milliseconds`,
//! `istio_request_bytes` and `istio_response_bytes`, with Istio's labels, on the admin port's
//! `/stats/prometheus`.
//!
//! Each side of the proxy reports what it sees, as Istio's sidecars do: the outbound side (and
//! the gateway) with `reporter="source"` (the source is this proxy, the destination the
//! endpoint the call went to), the inbound side with `reporter="destination"` (the destination
//! is this proxy, the source the caller, known only from the caller's signed header, see
//! `crate::peer`). A call seen by both sidecars is thus counted twice, once by each, which is
//! why Istio's queries always pick a reporter.
//!
//! **Cheap on the request path.** A request carries a [`Call`]: a few small numbers (the
//! reporter, the peer's and the service's label sets as interned ids, see [`intern`], the
//! protocol and gRPC status). When it ends, the series of its (call, status, flags) is found
//! in a read-mostly map, loaded without a lock, and its counts go up by a few relaxed atomic
//! additions. Only the first request of a new series takes a lock, to add it: the map is
//! copied with it and swapped in whole. Turning the counts into text happens only when the
//! admin port is asked.
//!
//! **Bounded.** No label holds a path, a user or anything a caller chooses: the peers and
//! services are the mesh's own, codes and flags are few. Past [`MAX_SERIES`] series a new one
//! is not made; its requests are counted in `sailkit_metric_series_overflow_total` instead.
//!
//! One file a job: `labels` (the values, from workload labels as Istio derives them),
//! `intern` (label sets as ids), `histogram` (Envoy's buckets), `render` (the text).

mod histogram;
pub mod intern;
pub mod labels;
mod render;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;

pub use intern::{ServiceId, WorkloadId};
pub use labels::{ServiceLabels, WorkloadLabels};

use crate::flags::Flags;
use histogram::Histogram;

/// How many series the proxy keeps at most (a few hundred in a mesh like Bookinfo's).
pub const MAX_SERIES: usize = 4096;

/// Which side of a call reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reporter {
    /// The caller's proxy: the outbound side, and the gateway.
    Source,
    /// The proxy of the workload called: the inbound side.
    Destination,
}

impl Reporter {
    pub fn as_str(self) -> &'static str {
        match self {
            Reporter::Source => "source",
            Reporter::Destination => "destination",
        }
    }
}

/// `request_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http,
    /// A request whose `content-type` starts with `application/grpc`.
    Grpc,
}

impl Protocol {
    /// The protocol of a request, by its headers.
    pub fn of(headers: &http::HeaderMap) -> Protocol {
        let grpc = headers
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        if grpc { Protocol::Grpc } else { Protocol::Http }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
        }
    }
}

/// What one request's series is labelled with, beside its status and flags; filled in by the
/// side that handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub reporter: Reporter,
    /// The workload at the other end: the endpoint called, or the caller.
    pub peer: WorkloadId,
    /// The service called.
    pub service: ServiceId,
    pub protocol: Protocol,
    /// The `grpc-status` of the response (its trailers, or its headers), when it had one.
    pub grpc_status: Option<u32>,
}

impl Call {
    /// A call not known yet beyond its reporter and protocol.
    pub fn new(reporter: Reporter, protocol: Protocol) -> Call {
        Call {
            reporter,
            peer: WorkloadId::UNKNOWN,
            service: ServiceId::UNKNOWN,
            protocol,
            grpc_status: None,
        }
    }

    /// `grpc_response_status`: empty for HTTP, and for a caller gone unanswered (code 0); for
    /// gRPC, the response's `grpc-status`, else the one its HTTP status stands for (as Envoy
    /// infers it).
    fn grpc_response_status(&self, code: u16) -> Option<u32> {
        match self.protocol {
            Protocol::Http => None,
            Protocol::Grpc if code == 0 => None,
            Protocol::Grpc => self.grpc_status.or(Some(grpc_status_of_http(code))),
        }
    }
}

/// The gRPC status an HTTP status stands for, when the response carries none (gRPC's
/// `http-grpc-status-mapping.md`, as Envoy applies it).
fn grpc_status_of_http(code: u16) -> u32 {
    match code {
        400 => 13,             // INTERNAL
        401 => 16,             // UNAUTHENTICATED
        403 => 7,              // PERMISSION_DENIED
        404 => 12,             // UNIMPLEMENTED
        429 | 502..=504 => 14, // UNAVAILABLE
        _ => 2,                // UNKNOWN
    }
}

/// Identifies one series: everything its labels are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    reporter: Reporter,
    peer: WorkloadId,
    service: ServiceId,
    protocol: Protocol,
    code: u16,
    grpc_status: Option<u32>,
    flags: u16,
}

/// The counts of one series; `istio_requests_total` is the duration histogram's count.
#[derive(Debug)]
struct Series {
    /// Its labels as the text format writes them, without braces; made once.
    labels: String,
    duration: Histogram,
    request_bytes: Histogram,
    response_bytes: Histogram,
}

type Table = HashMap<Key, Arc<Series>, foldhash::fast::RandomState>;

/// Every series of one proxy.
pub struct Metrics {
    /// This proxy's own labels: the source on the outbound side, the destination inbound.
    own: Arc<WorkloadLabels>,
    /// This workload's service: `destination_service` on the inbound side.
    own_service: ServiceId,
    series: ArcSwap<Table>,
    /// Taken to add a series (rare), never to count.
    adding: Mutex<()>,
    /// Requests not counted in a series because [`MAX_SERIES`] were made.
    overflow: AtomicU64,
}

impl Metrics {
    /// The metrics of a proxy whose own workload is `own`, an instance of `own_service`.
    pub fn new(own: WorkloadLabels, own_service: ServiceLabels) -> Metrics {
        Metrics {
            own: intern::workload_labels(intern::workload(own)),
            own_service: intern::service(own_service),
            series: ArcSwap::from_pointee(Table::default()),
            adding: Mutex::new(()),
            overflow: AtomicU64::new(0),
        }
    }

    /// The service this workload is an instance of.
    pub fn own_service(&self) -> ServiceId {
        self.own_service
    }

    /// Count a finished request: `code` 0 when no response was sent; `duration` to the last
    /// byte; body bytes received from the caller and sent back.
    pub fn record(
        &self,
        call: &Call,
        code: u16,
        flags: Flags,
        duration: Duration,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        let key = Key {
            reporter: call.reporter,
            peer: call.peer,
            service: call.service,
            protocol: call.protocol,
            code,
            grpc_status: call.grpc_response_status(code),
            flags: flags.bits(),
        };
        let found = self.series.load().get(&key).cloned();
        let Some(series) = found.or_else(|| self.add(key)) else {
            self.overflow.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        series.duration.record(micros);
        series.request_bytes.record(bytes_in.saturating_mul(1000));
        series.response_bytes.record(bytes_out.saturating_mul(1000));
    }

    /// The series of `key`, made now unless another request just made it; `None` when the
    /// table is full.
    #[cold]
    fn add(&self, key: Key) -> Option<Arc<Series>> {
        let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.series.load_full();
        if let Some(series) = current.get(&key) {
            return Some(Arc::clone(series));
        }
        if current.len() >= MAX_SERIES {
            return None;
        }
        let series = Arc::new(Series {
            labels: render::labels(&self.own, &key),
            duration: Histogram::default(),
            request_bytes: Histogram::default(),
            response_bytes: Histogram::default(),
        });
        let mut next = Table::clone(&current);
        next.insert(key, Arc::clone(&series));
        self.series.store(Arc::new(next));
        Some(series)
    }

    /// The four families in Prometheus' text format, each series sorted by its labels.
    pub fn render(&self, out: &mut String) {
        let table = self.series.load_full();
        let mut series: Vec<&Series> = table.values().map(Arc::as_ref).collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        render::families(&series, self.overflow.load(Ordering::Relaxed), out);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::flags::Flag;

    fn workload(name: &str, app: &str, version: &str) -> WorkloadLabels {
        let labels = BTreeMap::from([
            ("app".to_owned(), app.to_owned()),
            ("version".to_owned(), version.to_owned()),
        ]);
        WorkloadLabels::new(name, "default", "Kubernetes", &labels)
    }

    fn line<'a>(text: &'a str, starts: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(starts)).collect()
    }

    #[test]
    fn a_call_is_one_series_with_istios_labels_in_order() {
        let metrics = Metrics::new(
            workload("productpage-v1", "productpage", "v1"),
            ServiceLabels::unknown(),
        );
        let mut call = Call::new(Reporter::Source, Protocol::Http);
        call.peer = intern::workload(workload("reviews-v2", "reviews", "v2"));
        call.service = intern::service(ServiceLabels::new(
            "reviews",
            "reviews.default.svc.cluster.local",
        ));
        for millis in [3, 30] {
            metrics.record(
                &call,
                200,
                Flags::new(),
                Duration::from_millis(millis),
                0,
                295,
            );
        }
        let mut text = String::new();
        metrics.render(&mut text);
        let expected = "istio_requests_total{reporter=\"source\",\
            source_workload=\"productpage-v1\",source_workload_namespace=\"default\",\
            source_principal=\"unknown\",source_app=\"productpage\",source_version=\"v1\",\
            source_canonical_service=\"productpage\",source_canonical_revision=\"v1\",\
            source_cluster=\"Kubernetes\",\
            destination_workload=\"reviews-v2\",destination_workload_namespace=\"default\",\
            destination_principal=\"unknown\",destination_app=\"reviews\",\
            destination_version=\"v2\",\
            destination_service=\"reviews.default.svc.cluster.local\",\
            destination_service_name=\"reviews\",destination_service_namespace=\"default\",\
            destination_canonical_service=\"reviews\",destination_canonical_revision=\"v2\",\
            destination_cluster=\"Kubernetes\",request_protocol=\"http\",response_code=\"200\",\
            grpc_response_status=\"\",response_flags=\"-\",\
            connection_security_policy=\"unknown\"} 2";
        assert_eq!(line(&text, "istio_requests_total{"), [expected]);
        let buckets = line(&text, "istio_request_duration_milliseconds_bucket");
        assert_eq!(buckets.len(), 20);
        assert!(buckets[2].ends_with(",le=\"5\"} 1"), "{}", buckets[2]);
        assert!(buckets[5].ends_with(",le=\"50\"} 2"), "{}", buckets[5]);
        assert!(line(&text, "istio_response_bytes_sum")[0].ends_with("} 590"));
        assert!(text.contains("# TYPE istio_request_bytes histogram\n"));
    }

    #[test]
    fn grpc_status_comes_from_the_response_else_from_its_http_status() {
        let metrics = Metrics::new(
            workload("ratings-v1", "ratings", "v1"),
            ServiceLabels::unknown(),
        );
        let mut grpc = Call::new(Reporter::Destination, Protocol::Grpc);
        metrics.record(&grpc, 503, Flags::new(), Duration::ZERO, 0, 0);
        grpc.grpc_status = Some(5);
        metrics.record(&grpc, 200, Flags::new(), Duration::ZERO, 0, 0);
        let mut dropped = Flags::new();
        dropped.insert(Flag::DownstreamConnectionTermination);
        metrics.record(&grpc, 0, dropped, Duration::ZERO, 0, 0);
        let mut text = String::new();
        metrics.render(&mut text);
        let statuses: Vec<&str> = line(&text, "istio_requests_total{")
            .iter()
            .map(|l| {
                let start = l.find("response_code=").expect("code");
                &l[start..l.find(",response_flags").expect("flags")]
            })
            .collect();
        assert_eq!(
            statuses,
            [
                "response_code=\"0\",grpc_response_status=\"\"",
                "response_code=\"200\",grpc_response_status=\"5\"",
                "response_code=\"503\",grpc_response_status=\"14\"",
            ]
        );
        assert!(text.contains("response_flags=\"DC\",connection_security_policy=\"none\""));
    }

    #[test]
    fn past_the_limit_requests_are_counted_as_overflow() {
        let metrics = Metrics::new(WorkloadLabels::unknown(), ServiceLabels::unknown());
        let call = Call::new(Reporter::Source, Protocol::Http);
        for code in 0..=u16::try_from(MAX_SERIES).expect("small") {
            metrics.record(&call, code, Flags::new(), Duration::ZERO, 0, 0);
        }
        assert_eq!(metrics.series.load().len(), MAX_SERIES);
        assert_eq!(metrics.overflow.load(Ordering::Relaxed), 1);
    }
}
