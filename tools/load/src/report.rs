//! The result of a run, as text for people and as JSON for scripts, with the same numbers.
//!
//! The text follows fortio's layout where the Istio docs quote it, so that a chapter can show
//! `Code 200 : 17 (85.0 %)` lines next to Istio's. Latencies are over the requests that got an
//! answer (any status); requests that got none are counted by cause under "Errors".

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::duration::human;
use super::engine::Outcome;
use super::plan::{Plan, Stop};
use super::stats::Stats;

/// Rows of the text histogram.
const HISTOGRAM_ROWS: usize = 10;
/// Width of its longest bar.
const BAR_WIDTH: u64 = 40;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub method: String,
    /// "HTTP/1.1" or "HTTP/2".
    pub protocol: String,
    pub connections: u32,
    pub streams_per_connection: u32,
    pub threads: usize,
    /// Requests per second asked for; `null` for as fast as possible.
    pub target_qps: Option<f64>,
    /// `-n`, when the run was a count.
    pub requested_count: Option<u64>,
    /// `-t` in seconds, when the run was timed.
    pub requested_duration_s: Option<f64>,
    /// From the first request to the last answer.
    pub duration_s: f64,
    /// Requests sent or attempted: `answered + errors`.
    pub requests: u64,
    /// Requests per second achieved.
    pub actual_qps: f64,
    /// Requests that got an HTTP answer, whatever its status.
    pub answered: u64,
    /// Answers by status code (keys are strings in JSON: "200", "503").
    pub status_codes: BTreeMap<u16, u64>,
    /// Requests that got no answer.
    pub errors: u64,
    /// Those, by cause: connect_refused, connect_timeout, connect_failed, timeout, reset,
    /// protocol (only the causes that occurred).
    pub errors_by_kind: BTreeMap<&'static str, u64>,
    /// Bytes of response bodies received.
    pub bytes_received: u64,
    /// `null` when no request got an answer.
    pub latency_us: Option<Latency>,
    /// Ten rows, slowest last; empty when no request got an answer.
    pub histogram: Vec<Bucket>,
}

/// Latency figures, in microseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub min: u64,
    pub avg: f64,
    pub stdev: f64,
    pub p50: u64,
    pub p75: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
}

/// Answers whose latency was from `from_us` (included) to `to_us` (excluded, but for the last
/// row, which includes the maximum).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bucket {
    pub from_us: u64,
    pub to_us: u64,
    pub count: u64,
}

impl Report {
    pub fn new(plan: &Plan, outcome: &Outcome) -> Self {
        let stats = &outcome.stats;
        let answered = stats.answered();
        let errors = stats.failed();
        let requests = answered + errors;
        let seconds = outcome.elapsed.as_secs_f64();
        Report {
            url: plan.url.clone(),
            method: plan.request_method(),
            protocol: plan.protocol().to_string(),
            connections: plan.connections,
            streams_per_connection: plan.streams,
            threads: plan.threads,
            target_qps: plan.qps,
            requested_count: match plan.stop {
                Stop::Count(count) => Some(count),
                Stop::After(_) => None,
            },
            requested_duration_s: match plan.stop {
                Stop::After(duration) => Some(duration.as_secs_f64()),
                Stop::Count(_) => None,
            },
            duration_s: seconds,
            requests,
            actual_qps: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            answered,
            status_codes: stats.status_codes.clone(),
            errors,
            errors_by_kind: stats.errors.iter().map(|(k, n)| (k.key(), *n)).collect(),
            bytes_received: stats.body_bytes,
            latency_us: latency(stats),
            histogram: buckets(stats),
        }
    }

    /// The line printed when the run starts.
    pub fn start_line(plan: &Plan) -> String {
        let rate = match plan.qps {
            Some(qps) => format!("{qps} requests/s"),
            None => "max rate".to_string(),
        };
        let length = match plan.stop {
            Stop::Count(count) => format!("{count} requests"),
            Stop::After(duration) => human(duration),
        };
        let streams = if plan.streams > 1 {
            format!(" x {} streams", plan.streams)
        } else {
            String::new()
        };
        format!(
            "sailkit load: {} {} over {}, {} connections{streams}, {rate}, {length}, {} threads",
            plan.request_method(),
            plan.url,
            plan.protocol(),
            plan.connections,
            plan.threads
        )
    }

    /// The human-readable result.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let percent = |n: u64| 100.0 * n as f64 / self.requests.max(1) as f64;
        let _ = writeln!(
            out,
            "Ended after {}: {} requests, {:.1} per second",
            human(Duration::from_secs_f64(self.duration_s)),
            self.requests,
            self.actual_qps
        );
        for (code, count) in &self.status_codes {
            let _ = writeln!(out, "Code {code} : {count} ({:.1} %)", percent(*count));
        }
        for (kind, count) in &self.errors_by_kind {
            let label = kind.replace('_', " ");
            let _ = writeln!(out, "Error {label} : {count} ({:.1} %)", percent(*count));
        }
        match &self.latency_us {
            None => {
                let _ = writeln!(out, "Latency: no request got an answer");
            }
            Some(l) => {
                let ms = |us: u64| us as f64 / 1000.0;
                let _ = writeln!(
                    out,
                    "Latency (ms): min {:.3}  avg {:.3}  max {:.3}  (stdev {:.3})",
                    ms(l.min),
                    l.avg / 1000.0,
                    ms(l.max),
                    l.stdev / 1000.0
                );
                let _ = writeln!(
                    out,
                    "  p50 {:.3}  p75 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}",
                    ms(l.p50),
                    ms(l.p75),
                    ms(l.p90),
                    ms(l.p99),
                    ms(l.p99_9)
                );
                out.push_str(&histogram_text(&self.histogram));
            }
        }
        let per_answer = self.bytes_received / self.answered.max(1);
        let _ = writeln!(
            out,
            "Bytes received: {} (bodies; {per_answer} per answer)",
            self.bytes_received
        );
        out
    }
}

fn latency(stats: &Stats) -> Option<Latency> {
    let h = &stats.latency;
    if h.is_empty() {
        return None;
    }
    Some(Latency {
        min: h.min(),
        avg: h.mean(),
        stdev: h.stdev(),
        p50: h.value_at_quantile(0.50),
        p75: h.value_at_quantile(0.75),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        p99_9: h.value_at_quantile(0.999),
        max: h.max(),
    })
}

/// Ten rows on a logarithmic scale from the fastest answer to the slowest: latencies spread
/// over orders of magnitude, and a long tail should stay visible without crushing the rest.
fn buckets(stats: &Stats) -> Vec<Bucket> {
    let h = &stats.latency;
    if h.is_empty() {
        return Vec::new();
    }
    let (min, max) = (h.min(), h.max());
    let ratio = max as f64 / min as f64;
    let mut edges: Vec<u64> = (0..=HISTOGRAM_ROWS)
        .map(|i| (min as f64 * ratio.powf(i as f64 / HISTOGRAM_ROWS as f64)).round() as u64)
        .collect();
    // Narrow ranges make equal edges after rounding; keep each once.
    edges.dedup();
    if edges.len() < 2 {
        edges.push(max + 1);
    }
    let last = edges.len() - 2;
    let mut rows: Vec<Bucket> = edges
        .windows(2)
        .map(|w| Bucket {
            from_us: w[0],
            to_us: w[1],
            count: 0,
        })
        .collect();
    for value in h.iter_recorded() {
        let v = h.highest_equivalent(value.value_iterated_to()).min(max);
        let row = rows
            .iter()
            .position(|b| v < b.to_us)
            .unwrap_or(last)
            .min(last);
        rows[row].count += value.count_at_value();
    }
    rows
}

fn histogram_text(rows: &[Bucket]) -> String {
    let mut out = String::from("Histogram (ms):\n");
    let most = rows.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let total: u64 = rows.iter().map(|b| b.count).sum();
    for row in rows {
        let bar = "#".repeat((row.count * BAR_WIDTH).div_ceil(most) as usize);
        let _ = writeln!(
            out,
            "  {:>9.3} - {:<9.3} {:<width$} {:>8} {:>5.1} %",
            row.from_us as f64 / 1000.0,
            row.to_us as f64 / 1000.0,
            bar,
            row.count,
            100.0 * row.count as f64 / total.max(1) as f64,
            width = BAR_WIDTH as usize
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ErrorKind;

    fn report(stats: Stats, elapsed: Duration) -> Report {
        let plan = crate::plan::tests::plan_for_tests();
        Report::new(&plan, &Outcome { stats, elapsed })
    }

    fn sample() -> Stats {
        let mut stats = Stats::default();
        for i in 0..17 {
            stats.record_answer(200, Duration::from_micros(1000 + i * 100), 100);
        }
        for _ in 0..2 {
            stats.record_answer(503, Duration::from_micros(200), 19);
        }
        stats.record_error(ErrorKind::ConnectRefused);
        stats
    }

    #[test]
    fn status_codes_and_errors_are_shown_with_their_share() {
        let text = report(sample(), Duration::from_millis(500)).text();
        assert!(
            text.contains("Ended after 500.000 ms: 20 requests, 40.0 per second"),
            "{text}"
        );
        assert!(text.contains("Code 200 : 17 (85.0 %)"), "{text}");
        assert!(text.contains("Code 503 : 2 (10.0 %)"), "{text}");
        assert!(text.contains("Error connect refused : 1 (5.0 %)"), "{text}");
        assert!(
            text.contains("Bytes received: 1738 (bodies; 91 per answer)"),
            "{text}"
        );
    }

    #[test]
    fn percentiles_come_from_the_answers() {
        let report = report(sample(), Duration::from_secs(1));
        let latency = report.latency_us.expect("answers");
        assert_eq!(latency.min, 200);
        // Kept to 3 significant digits: 2600 µs is stored as 2600..=2601.
        assert!((2600..=2601).contains(&latency.max), "{latency:?}");
        assert!((1000..=1900).contains(&latency.p50), "{latency:?}");
        assert_eq!(report.answered, 19);
        assert_eq!(report.errors, 1);
        assert_eq!(report.errors_by_kind["connect_refused"], 1);
    }

    #[test]
    fn the_histogram_counts_every_answer_once_from_min_to_max() {
        let report = report(sample(), Duration::from_secs(1));
        let rows = &report.histogram;
        assert_eq!(rows.len(), HISTOGRAM_ROWS);
        assert_eq!(rows.iter().map(|b| b.count).sum::<u64>(), 19);
        assert_eq!(rows[0].from_us, 200);
        assert_eq!(rows[0].count, 2);
        assert!(rows.windows(2).all(|w| w[0].to_us == w[1].from_us));
        let text = histogram_text(rows);
        assert_eq!(text.lines().count(), HISTOGRAM_ROWS + 1, "{text}");
        assert!(
            text.lines().nth(1).expect("row").contains("0.200 -"),
            "{text}"
        );
    }

    #[test]
    fn one_latency_makes_one_row() {
        let mut stats = Stats::default();
        stats.record_answer(200, Duration::from_micros(500), 0);
        let rows = report(stats, Duration::from_secs(1)).histogram;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].count, 1);
    }

    #[test]
    fn a_run_without_answers_says_so() {
        let mut stats = Stats::default();
        stats.record_error(ErrorKind::ConnectRefused);
        let report = report(stats, Duration::from_secs(1));
        assert!(report.latency_us.is_none());
        assert!(report.histogram.is_empty());
        assert!(report.text().contains("no request got an answer"));
        let json = serde_json::to_value(&report).expect("serialisable");
        assert_eq!(json["errors_by_kind"]["connect_refused"], 1);
        assert!(json["latency_us"].is_null());
    }
}
