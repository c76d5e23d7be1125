//! Summing per-series rates into the dashboard's signals: requests, errors and the latency
//! quantiles of merged histogram buckets. The scrape source computes every series' rate itself
//! and adds them up here, as `sum(rate(...)) by (...)` does in Prometheus.

use std::collections::BTreeMap;

use super::istio::{self, Labels};
use super::quantile::histogram_quantile;
use crate::graph::model::Signals;

/// One series' increase per second over the window.
#[derive(Debug, Clone)]
pub struct SeriesRate {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub rate: f64,
}

/// The running sums for one group of series.
#[derive(Debug, Default, Clone)]
pub struct Sum {
    rps: f64,
    error_rps: f64,
    /// Bucket rates by upper bound (its bits, so that `+Inf` and decimals are exact keys).
    buckets: BTreeMap<u64, f64>,
}

impl Sum {
    /// Adds a series of `istio_requests_total` or of the duration buckets; others are ignored.
    pub fn add(&mut self, series: &SeriesRate) {
        if series.name == istio::REQUESTS {
            self.rps += series.rate;
            if istio::is_error(series.labels.as_slice()) {
                self.error_rps += series.rate;
            }
        } else if series.name == istio::DURATION_BUCKET {
            let Some(le) = Labels::get(series.labels.as_slice(), "le").and_then(parse_le) else {
                return;
            };
            *self.buckets.entry(le.to_bits()).or_default() += series.rate;
        }
    }

    pub fn signals(&self) -> Signals {
        let buckets: Vec<(f64, f64)> = self
            .buckets
            .iter()
            .map(|(&le, &rate)| (f64::from_bits(le), rate))
            .collect();
        Signals {
            rps: self.rps,
            error_rps: self.error_rps,
            p50_ms: histogram_quantile(0.5, &buckets),
            p95_ms: histogram_quantile(0.95, &buckets),
            p99_ms: histogram_quantile(0.99, &buckets),
        }
    }
}

fn parse_le(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        _ => text.parse().ok(),
    }
}

/// Sums the series `group` maps to a key (`None` leaves a series out).
pub fn group_by<K: Ord>(
    series: &[SeriesRate],
    group: impl Fn(&[(String, String)]) -> Option<K>,
) -> BTreeMap<K, Sum> {
    let mut sums: BTreeMap<K, Sum> = BTreeMap::new();
    for one in series {
        if let Some(key) = group(&one.labels) {
            sums.entry(key).or_default().add(one);
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, labels: &[(&str, &str)], rate: f64) -> SeriesRate {
        SeriesRate {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            rate,
        }
    }

    #[test]
    fn sums_requests_errors_and_buckets() {
        let mut sum = Sum::default();
        sum.add(&series(istio::REQUESTS, &[("response_code", "200")], 8.0));
        sum.add(&series(istio::REQUESTS, &[("response_code", "503")], 2.0));
        for (le, rate) in [("5", 5.0), ("10", 9.0), ("25", 10.0), ("+Inf", 10.0)] {
            sum.add(&series(istio::DURATION_BUCKET, &[("le", le)], rate));
        }
        sum.add(&series("other", &[], 100.0));
        let signals = sum.signals();
        assert_eq!((signals.rps, signals.error_rps), (10.0, 2.0));
        assert_eq!(signals.p50_ms, Some(5.0));
        assert!((signals.p99_ms.unwrap_or_default() - 23.5).abs() < 1e-9);
    }
}
