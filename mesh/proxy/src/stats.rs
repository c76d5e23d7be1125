//! Counters for `GET /stats` and `GET /stats/prometheus`: plain atomics, so counting never slows
//! a request down.
//!
//! A finished request costs a handful of relaxed atomic additions and no lock or allocation:
//! the class counters of `/stats`, one counter per response flag, and one slot of
//! [`RequestCounts`] for its exact status code and set of flags (what Prometheus'
//! `istio_requests_total` is labelled with). Turning the counters into text happens only when
//! the admin port is asked.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::flags::{Flag, Flags};

/// One counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn increment(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter of the proxy.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: Counter,
    /// Responses by class: index 0 is 1xx ... index 4 is 5xx.
    pub responses: [Counter; 5],
    /// One counter per entry of [`Flag::ALL`], in that order.
    pub flags: [Counter; Flag::ALL.len()],
    /// Requests by exact status code and set of flags (for `istio_requests_total`).
    pub by_code: RequestCounts,
    /// Attempts after the first one.
    pub retries: Counter,
    /// Requests refused by a circuit breaker (`UO`); Envoy's name, which Istio's task greps for.
    pub pending_overflow: Counter,
    /// Retries not made because the destination's `maxRetries` were all in progress.
    pub retry_overflow: Counter,
    /// Endpoints ejected by outlier detection, ever.
    pub outlier_ejections: Counter,
    pub config_reloads: Counter,
    pub registry_reloads: Counter,
}

impl Stats {
    /// Count a finished request.
    pub fn record(&self, status: u16, flags: Flags) {
        self.requests.increment();
        if let Some(class) = (status / 100).checked_sub(1).map(usize::from)
            && let Some(counter) = self.responses.get(class)
        {
            counter.increment();
        }
        for flag in flags.iter() {
            self.flags[flag.index()].increment();
        }
        self.by_code.record(status, flags.bits());
    }

    /// `name value` lines, one per counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "requests {}", self.requests.get());
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "responses_{}xx {}", i + 1, counter.get());
        }
        for (flag, counter) in Flag::ALL.iter().zip(&self.flags) {
            let _ = writeln!(out, "flag_{flag} {}", counter.get());
        }
        let _ = writeln!(out, "retries {}", self.retries.get());
        let _ = writeln!(
            out,
            "upstream_rq_pending_overflow {}",
            self.pending_overflow.get()
        );
        let _ = writeln!(
            out,
            "upstream_rq_retry_overflow {}",
            self.retry_overflow.get()
        );
        let _ = writeln!(
            out,
            "outlier_ejections_total {}",
            self.outlier_ejections.get()
        );
        let _ = writeln!(out, "config_reloads {}", self.config_reloads.get());
        let _ = writeln!(out, "registry_reloads {}", self.registry_reloads.get());
        out
    }

    /// The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then
    /// `name{labels} value` lines. Names follow Istio's standard metrics and Envoy's cluster
    /// statistics where one exists, `sailkit_` otherwise (see `docs/proxy-lifecycle.md`).
    /// `ejections_active` is a gauge the caller reads from the outlier detectors.
    pub fn render_prometheus(&self, ejections_active: usize) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "istio_requests_total",
            "counter",
            "Requests answered, by status code and response flags (\"-\" for none).",
        );
        for (status, mask, count) in self.by_code.snapshot() {
            let _ = writeln!(
                out,
                "istio_requests_total{{response_code=\"{status}\",response_flags=\"{}\"}} {count}",
                flag_names(mask)
            );
        }
        let unsorted = self.by_code.unsorted.get();
        if unsorted > 0 {
            // Only if more distinct (code, flags) pairs appeared than the table has slots.
            let _ = writeln!(
                out,
                "istio_requests_total{{response_code=\"other\",response_flags=\"other\"}} {unsorted}"
            );
        }
        family(
            &mut out,
            "sailkit_response_flags_total",
            "counter",
            "Requests that got each response flag (a request with two flags counts twice).",
        );
        for (flag, counter) in Flag::ALL.iter().zip(&self.flags) {
            let _ = writeln!(
                out,
                "sailkit_response_flags_total{{response_flags=\"{flag}\"}} {}",
                counter.get()
            );
        }
        let counters = [
            (
                "envoy_cluster_upstream_rq_retry",
                "Attempts after the first one (retries made).",
                &self.retries,
            ),
            (
                "envoy_cluster_upstream_rq_pending_overflow",
                "Requests refused by a circuit breaker (503 UO).",
                &self.pending_overflow,
            ),
            (
                "envoy_cluster_upstream_rq_retry_overflow",
                "Retries not made because maxRetries were already in progress.",
                &self.retry_overflow,
            ),
            (
                "envoy_cluster_outlier_detection_ejections_total",
                "Endpoints ejected by outlier detection since the proxy started.",
                &self.outlier_ejections,
            ),
            (
                "sailkit_config_reloads_total",
                "Times the config directory changed and was loaded again (applied or rejected).",
                &self.config_reloads,
            ),
            (
                "sailkit_registry_reloads_total",
                "Times the registry file changed and was read again (applied or rejected).",
                &self.registry_reloads,
            ),
        ];
        for (name, help, counter) in counters {
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", counter.get());
        }
        let name = "envoy_cluster_outlier_detection_ejections_active";
        family(&mut out, name, "gauge", "Endpoints ejected right now.");
        let _ = writeln!(out, "{name} {ejections_active}");
        out
    }
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A flag set as the access log writes it: `UF,URX`, or `-` for none.
fn flag_names(mask: u16) -> String {
    let flags = Flags::from_bits(mask);
    if flags.is_empty() {
        "-".to_owned()
    } else {
        flags.to_string()
    }
}

/// How many distinct (status code, flag set) pairs [`RequestCounts`] keeps apart. A proxy sees
/// a few dozen at most; a power of two, so a hash maps onto a slot with a shift.
const SLOTS: usize = 128;

/// Requests counted by (status code, set of flags), without a lock: a fixed open-addressing
/// table whose slots are claimed once, with a compare-and-swap, by the first request of each
/// pair, and only added to after that. A slot is never freed, so a claimed key never moves.
#[derive(Debug)]
pub struct RequestCounts {
    /// `status << 16 | flag mask`; 0 while the slot is free (no status is 0).
    keys: [AtomicU32; SLOTS],
    counts: [AtomicU64; SLOTS],
    /// Requests of pairs that found no free slot.
    unsorted: Counter,
}

impl Default for RequestCounts {
    fn default() -> Self {
        RequestCounts {
            keys: std::array::from_fn(|_| AtomicU32::new(0)),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            unsorted: Counter::default(),
        }
    }
}

impl RequestCounts {
    /// Count one request; `mask` has bit `i` set for flag `Flag::ALL[i]` ([`Flags::bits`]).
    pub fn record(&self, status: u16, mask: u16) {
        let key = (u32::from(status) << 16) | u32::from(mask);
        if key == 0 {
            self.unsorted.increment();
            return;
        }
        // Fibonacci hashing: the top bits of key × 2^32/φ spread nearby keys apart.
        let start = (key.wrapping_mul(0x9E37_79B9) >> (32 - SLOTS.trailing_zeros())) as usize;
        for probe in 0..SLOTS {
            let i = (start + probe) % SLOTS;
            let found = match self.keys[i].load(Ordering::Acquire) {
                0 => {
                    match self.keys[i].compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
                    {
                        Ok(_) => key,
                        // Another request claimed it first, maybe for this same pair.
                        Err(claimed) => claimed,
                    }
                }
                claimed => claimed,
            };
            if found == key {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.unsorted.increment();
    }

    /// `(status, flag mask, count)` for every pair seen, sorted by status, then mask.
    pub fn snapshot(&self) -> Vec<(u16, u16, u64)> {
        let mut pairs: Vec<(u16, u16, u64)> = self
            .keys
            .iter()
            .zip(&self.counts)
            .filter_map(|(key, count)| {
                let key = key.load(Ordering::Acquire);
                let count = count.load(Ordering::Relaxed);
                // A slot claimed a moment ago may not be counted yet: skip it this time.
                (key != 0 && count > 0).then_some(((key >> 16) as u16, key as u16, count))
            })
            .collect();
        pairs.sort_unstable();
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_exact_code_and_flag_set() {
        let stats = Stats::default();
        let flags = |set: &[Flag]| {
            let mut flags = Flags::new();
            set.iter().for_each(|flag| flags.insert(*flag));
            flags
        };
        stats.record(200, flags(&[]));
        stats.record(200, flags(&[]));
        stats.record(
            503,
            flags(&[
                Flag::UpstreamConnectionFailure,
                Flag::UpstreamRetryLimitExceeded,
            ]),
        );
        stats.record(503, flags(&[Flag::NoHealthyUpstream]));
        stats.record(404, flags(&[Flag::NoRoute]));
        assert_eq!(
            stats.by_code.snapshot(),
            vec![
                (200, 0, 2),
                (404, 1 << 2, 1),
                (503, 1 << 4, 1),
                (503, (1 << 6) | (1 << 10), 1),
            ]
        );
        let text = stats.render_prometheus(3);
        for line in [
            "istio_requests_total{response_code=\"200\",response_flags=\"-\"} 2",
            "istio_requests_total{response_code=\"503\",response_flags=\"UF,URX\"} 1",
            "istio_requests_total{response_code=\"404\",response_flags=\"NR\"} 1",
            "sailkit_response_flags_total{response_flags=\"UH\"} 1",
            "envoy_cluster_outlier_detection_ejections_active 3",
            "# TYPE envoy_cluster_upstream_rq_pending_overflow counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in:\n{text}"
            );
        }
    }

    #[test]
    fn a_full_table_still_counts_every_request() {
        let counts = RequestCounts::default();
        // More distinct pairs than slots: the rest go to `unsorted`, none is lost.
        let pairs = SLOTS as u16 + 10;
        for mask in 0..pairs {
            counts.record(200, mask);
            counts.record(200, mask);
        }
        let counted: u64 = counts.snapshot().iter().map(|(_, _, n)| n).sum();
        assert_eq!(counts.snapshot().len(), SLOTS);
        assert_eq!(counted + counts.unsorted.get(), 2 * u64::from(pairs));
        assert_eq!(counts.unsorted.get(), 20);
    }

    #[test]
    fn concurrent_requests_of_one_pair_share_a_slot() {
        let counts = std::sync::Arc::new(RequestCounts::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counts = counts.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        counts.record(if i % 2 == 0 { 200 } else { 503 }, 0);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("counting thread");
        }
        assert_eq!(counts.snapshot(), vec![(200, 0, 2000), (503, 0, 2000)]);
    }
}
