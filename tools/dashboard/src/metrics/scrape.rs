//! The scrape source: the dashboard reads every sidecar's `/stats/prometheus` itself every few
//! seconds, keeps the rounds of the last window, and computes each series' rate from the
//! increase of its counter between the oldest and the newest round that hold it, as
//! Prometheus' `rate()` would over the same samples. No Prometheus needed on a laptop.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::istio::{self, End, Labels};
use super::rates::{SeriesRate, group_by};
use super::text_format;
use super::{MetricsError, WorkloadSignals};
use crate::graph::model::{Traffic, Workload};

/// A series of one target: which sidecar, metric name, sorted labels.
type SeriesKey = (usize, String, Vec<(String, String)>);

struct Round {
    at: Instant,
    samples: HashMap<SeriesKey, f64>,
}

/// What the scrape loop shares with the pages.
pub struct Scraper {
    /// Replaced whole by [`Scraper::set_targets`] (the launcher knows its sidecars' addresses
    /// only after the dashboard, which they send spans to, has started).
    targets: Mutex<Vec<String>>,
    window: Duration,
    client: reqwest::Client,
    rounds: Mutex<VecDeque<Round>>,
    /// The targets the last round could not read, with why.
    failures: Mutex<Vec<String>>,
}

impl Scraper {
    /// `targets` are sidecar admin addresses (`http://127.0.0.1:15000`); `/stats/prometheus` is
    /// added unless the URL already names a path.
    pub fn new(targets: &[String], window: Duration) -> Scraper {
        Scraper {
            targets: Mutex::new(targets.iter().map(|target| stats_url(target)).collect()),
            window,
            client: reqwest::Client::new(),
            rounds: Mutex::new(VecDeque::new()),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// Scrapes these targets from now on, with no rounds of the old ones kept (a series is
    /// keyed by its target's place in the list).
    pub fn set_targets(&self, targets: &[String]) {
        let urls = targets.iter().map(|target| stats_url(target)).collect();
        let mut current = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        *current = urls;
        self.rounds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Scrapes every `interval` until `stop` is cancelled.
    pub async fn run(self: Arc<Self>, interval: Duration, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => self.scrape_once(interval).await,
            }
        }
    }

    async fn scrape_once(&self, timeout: Duration) {
        let targets = self
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let reads = targets
            .iter()
            .map(|url| read_target(&self.client, url, timeout.max(Duration::from_secs(1))));
        let answers = futures::future::join_all(reads).await;
        let at = Instant::now();
        let mut samples = HashMap::new();
        let mut failures = Vec::new();
        for (index, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(read) => samples.extend(
                    read.into_iter()
                        .map(|s| ((index, s.name, s.labels), s.value)),
                ),
                Err(why) => failures.push(format!("{}: {why}", targets[index])),
            }
        }
        *self.failures.lock().unwrap_or_else(PoisonError::into_inner) = failures;
        let mut rounds = self.rounds.lock().unwrap_or_else(PoisonError::into_inner);
        rounds.push_back(Round { at, samples });
        // Keep the rounds of the window, and always two, so that a rate can be computed.
        while rounds.len() > 2 && rounds.front().is_some_and(|r| at - r.at > self.window) {
            rounds.pop_front();
        }
    }

    /// Each series' rate between the oldest round that has it and the newest round.
    fn rates(&self) -> Vec<SeriesRate> {
        let rounds = self.rounds.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(newest) = rounds.back() else {
            return Vec::new();
        };
        let mut rates = Vec::new();
        for (key, &now) in &newest.samples {
            let Some((then, at)) = rounds
                .iter()
                .take(rounds.len() - 1)
                .find_map(|round| round.samples.get(key).map(|&value| (value, round.at)))
            else {
                continue;
            };
            let seconds = (newest.at - at).as_secs_f64();
            if seconds <= 0.0 {
                continue;
            }
            // A counter that went down was reset (the sidecar restarted): it counted `now`.
            let increase = if now >= then { now - then } else { now };
            rates.push(SeriesRate {
                name: key.1.clone(),
                labels: key.2.clone(),
                rate: increase / seconds,
            });
        }
        rates
    }

    pub fn traffic(&self) -> Vec<Traffic> {
        let sums = group_by(&self.rates(), |labels| {
            istio::is_graph_series(labels).then(|| {
                (
                    istio::workload(labels, End::Source),
                    istio::workload(labels, End::Destination),
                    labels.value("destination_service").to_string(),
                )
            })
        });
        sums.into_iter()
            .map(|((source, destination, service), sum)| Traffic {
                source,
                destination,
                service,
                signals: sum.signals(),
            })
            .collect()
    }

    pub fn workload(&self, namespace: &str, name: &str) -> Result<WorkloadSignals, MetricsError> {
        let rates = self.rates();
        let is = |labels: &[(String, String)], end: End| {
            let Workload {
                namespace: ns,
                name: n,
                ..
            } = istio::workload(labels, end);
            ns == namespace && n == name
        };
        let reported_by =
            |labels: &[(String, String)], reporter: &str| labels.value("reporter") == reporter;
        let inbound_by = |reporter: &str| {
            group_by(&rates, |labels| {
                (reported_by(labels, reporter) && is(labels, End::Destination)).then_some(())
            })
        };
        // The callee's own sidecar reports its inbound requests; without that report, the
        // callers' reports of the same requests stand in.
        let mut inbound = inbound_by("destination");
        if inbound.is_empty() {
            inbound = inbound_by("source");
        }
        let outbound = group_by(&rates, |labels| {
            (reported_by(labels, "source") && is(labels, End::Source)).then_some(())
        });
        let signals = |sums: &std::collections::BTreeMap<(), super::rates::Sum>| {
            sums.get(&()).map(|sum| sum.signals()).unwrap_or_default()
        };
        Ok(WorkloadSignals {
            inbound: signals(&inbound),
            outbound: signals(&outbound),
        })
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    pub fn failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn stats_url(target: &str) -> String {
    let trimmed = target.trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/stats/prometheus")
    }
}

async fn read_target(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<Vec<text_format::Sample>, String> {
    let response = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let text = response.text().await.map_err(|error| error.to_string())?;
    text_format::parse(&text, |name| {
        name == istio::REQUESTS || name == istio::DURATION_BUCKET
    })
    .map_err(|error| format!("not Prometheus text: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(at: Instant, samples: &[(&str, f64)]) -> Round {
        Round {
            at,
            samples: samples
                .iter()
                .map(|(code, value)| {
                    let labels = vec![("response_code".to_string(), code.to_string())];
                    ((0, istio::REQUESTS.to_string(), labels), *value)
                })
                .collect(),
        }
    }

    fn rate_of(rates: &[SeriesRate], code: &str) -> Option<f64> {
        rates.iter().find(|r| r.labels[0].1 == code).map(|r| r.rate)
    }

    #[test]
    fn rates_span_the_oldest_round_holding_each_series() {
        let scraper = Scraper::new(&[], Duration::from_secs(10));
        let start = Instant::now();
        let second = |n: u64| start + Duration::from_secs(n);
        scraper.rounds.lock().unwrap().extend([
            round(start, &[("200", 100.0), ("503", 50.0)]),
            round(second(2), &[("200", 120.0), ("503", 60.0), ("404", 1.0)]),
            // The sidecar restarted: 503 starts again from 0.
            round(second(4), &[("200", 140.0), ("503", 8.0), ("404", 5.0)]),
        ]);
        let rates = scraper.rates();
        assert_eq!(rate_of(&rates, "200"), Some(10.0));
        assert_eq!(rate_of(&rates, "503"), Some(2.0), "a reset counts from 0");
        assert_eq!(
            rate_of(&rates, "404"),
            Some(2.0),
            "from the round it appeared in"
        );
    }

    #[test]
    fn one_round_gives_no_rate() {
        let scraper = Scraper::new(&[], Duration::from_secs(10));
        scraper
            .rounds
            .lock()
            .unwrap()
            .push_back(round(Instant::now(), &[("200", 100.0)]));
        assert!(scraper.rates().is_empty());
        assert!(scraper.traffic().is_empty());
    }

    #[test]
    fn the_stats_path_is_added_to_a_bare_admin_address() {
        assert_eq!(
            stats_url("http://127.0.0.1:15000/"),
            "http://127.0.0.1:15000/stats/prometheus"
        );
        assert_eq!(stats_url("http://a:1/metrics"), "http://a:1/metrics");
    }
}
