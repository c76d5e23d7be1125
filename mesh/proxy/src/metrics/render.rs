//! The text of Istio's four families: a series' labels, made once when the series is, and the
//! `# HELP`, `# TYPE` and sample lines, made when the admin port is asked.

use std::fmt::Write as _;

use super::histogram::{self, BOUNDS};
use super::labels::{WorkloadLabels, label};
use super::{Key, Reporter, Series, intern};
use crate::flags::Flags;
use crate::stats::family;

/// The labels of `key`'s series, in Istio's order, as `name="value"` pairs joined by commas.
pub(super) fn labels(own: &WorkloadLabels, key: &Key) -> String {
    let peer = intern::workload_labels(key.peer);
    let service = intern::service_labels(key.service);
    let (source, destination) = match key.reporter {
        Reporter::Source => (own, peer.as_ref()),
        Reporter::Destination => (peer.as_ref(), own),
    };
    let mut out = String::with_capacity(1024);
    label(&mut out, "", "reporter", key.reporter.as_str());
    source.write("source", None, &mut out);
    destination.write("destination", Some(&service), &mut out);
    label(&mut out, "", "request_protocol", key.protocol.as_str());
    label(&mut out, "", "response_code", &key.code.to_string());
    let grpc = key.grpc_status.map(|s| s.to_string()).unwrap_or_default();
    label(&mut out, "", "grpc_response_status", &grpc);
    let flags = Flags::from_bits(key.flags);
    let flags = if flags.is_empty() {
        "-".to_owned()
    } else {
        flags.to_string()
    };
    label(&mut out, "", "response_flags", &flags);
    // No mutual TLS yet: the callee's proxy knows the connection was plain (`none`); the
    // caller's cannot say what the callee required (`unknown`), as in Istio.
    let policy = match key.reporter {
        Reporter::Source => "unknown",
        Reporter::Destination => "none",
    };
    label(&mut out, "", "connection_security_policy", policy);
    out.pop();
    out
}

/// Which of a series' histograms a family shows.
type Pick = fn(&Series) -> &histogram::Histogram;

/// The four families, then the overflow counter.
pub(super) fn families(series: &[&Series], overflow: u64, out: &mut String) {
    family(
        out,
        "istio_requests_total",
        "counter",
        "Requests answered (response_code 0: the caller went away unanswered).",
    );
    for s in series {
        let _ = writeln!(
            out,
            "istio_requests_total{{{}}} {}",
            s.labels,
            s.duration.read().count()
        );
    }
    let histograms: [(&str, &str, Pick); 3] = [
        (
            "istio_request_duration_milliseconds",
            "Time from the request's first byte to the response's last, in milliseconds.",
            |s| &s.duration,
        ),
        (
            "istio_request_bytes",
            "Size of the request bodies, in bytes.",
            |s| &s.request_bytes,
        ),
        (
            "istio_response_bytes",
            "Size of the response bodies, in bytes.",
            |s| &s.response_bytes,
        ),
    ];
    for (name, help, of) in histograms {
        family(out, name, "histogram", help);
        for s in series {
            let read = of(s).read();
            for (bound, count) in BOUNDS.iter().zip(read.cumulative) {
                let _ = writeln!(out, "{name}_bucket{{{},le=\"{bound}\"}} {count}", s.labels);
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{{},le=\"+Inf\"}} {}",
                s.labels,
                read.count()
            );
            let _ = write!(out, "{name}_sum{{{}}} ", s.labels);
            histogram::write_thousandths(out, read.sum_thousandths);
            out.push('\n');
            let _ = writeln!(out, "{name}_count{{{}}} {}", s.labels, read.count());
        }
    }
    let name = "sailkit_metric_series_overflow_total";
    family(
        out,
        name,
        "counter",
        "Requests left out of Istio's metrics because the proxy holds the most series it keeps.",
    );
    let _ = writeln!(out, "{name} {overflow}");
}
