//! A real Prometheus server for the tests: Debian's `prometheus` (2.42), scraping the sidecars of
//! a stack every second, queried through its HTTP API as Grafana does.
//!
//! [`Prometheus::start`] writes a `prometheus.yml` whose targets are the sidecars' admin ports
//! (`/stats/prometheus`, each labelled with its instance's `app` and `version` as
//! `docker/prometheus/prometheus.yml` does), starts the server on a free loopback port with its
//! data in a temporary folder, and waits until it is ready. Dropping it stops the server.
//!
//! Where `prometheus` is not installed (`PROMETHEUS_BIN` names another binary), `start` returns
//! `None` and the test skips with a message; with `CI` or `SAILKIT_REQUIRE_PROMETHEUS` set it
//! fails instead, so CI cannot pass without running it (`.ci/run` installs the package).

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{STOP_TIMEOUT, signal, wait_with_timeout};
use nix::sys::signal::Signal;
use sailkit::up::state;

/// How long the server may take to start and read its first samples.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Prometheus, stopped on drop.
pub struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Prometheus {
    /// Starts a Prometheus that scrapes every sidecar (and the gateway) of `stack` each second.
    pub async fn start(stack: &state::Stack) -> Option<Self> {
        let Some(binary) = binary() else {
            let reason = "no `prometheus` binary (apt-get install prometheus, or PROMETHEUS_BIN)";
            if ["CI", "SAILKIT_REQUIRE_PROMETHEUS"]
                .iter()
                .any(|v| std::env::var_os(v).is_some())
            {
                panic!(
                    "the Prometheus tests are required (CI or SAILKIT_REQUIRE_PROMETHEUS): {reason}"
                );
            }
            eprintln!("skipped: {reason}");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, scrape_config(stack)).expect("prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let prometheus = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
            client: super::http(),
        };
        prometheus.wait_ready().await;
        Some(prometheus)
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            let ready = self
                .client
                .get(format!("{}/-/ready", self.url))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "Prometheus was not ready within {READY_TIMEOUT:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The server's own log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query (`/api/v1/query`) evaluated now: the `result` array of a vector or the
    /// `[time, value]` of a scalar. Panics with Prometheus' own error on a bad query.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.url),
            [("query", promql)],
        )
        .expect("query URL");
        let body: Value = self
            .client
            .get(url)
            .send()
            .await
            .expect("query sent")
            .json()
            .await
            .expect("query answer is JSON");
        assert_eq!(body["status"], "success", "{promql}: {body}");
        match body["data"]["resultType"].as_str() {
            Some("scalar") => vec![body["data"]["result"].clone()],
            _ => body["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The single number an instant query returns (the sum of its series; 0 for none).
    pub async fn number(&self, promql: &str) -> f64 {
        self.query(promql).await.iter().map(sample_value).sum()
    }

    /// Whether every target has been scraped successfully at least once.
    pub async fn until_targets_up(&self, expected: usize) {
        let started = Instant::now();
        loop {
            let up = self.number("sum(up)").await;
            if up >= expected as f64 {
                return;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "{up} of {expected} targets up:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        signal(self.child.id(), Signal::SIGTERM);
        if wait_with_timeout(&mut self.child, STOP_TIMEOUT).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value of one sample of a query's result (`{"metric":..,"value":[t,"v"]}`, or a scalar's
/// `[t,"v"]`); NaN counts as 0, as a ratio of two empty rates is.
pub fn sample_value(sample: &Value) -> f64 {
    let value = sample.get("value").unwrap_or(sample);
    value[1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// The sidecars' admin ports and the gateway's, as one static scrape job.
fn scrape_config(stack: &state::Stack) -> String {
    let mut out = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
         - job_name: sidecars\n    metrics_path: /stats/prometheus\n    static_configs:\n",
    );
    for instance in &stack.instances {
        let Some(sidecar) = &instance.sidecar else {
            continue;
        };
        let _ = writeln!(
            out,
            "      - targets: [\"{}\"]\n        labels: {{app: {}, version: {}}}",
            sidecar.admin.trim_start_matches("http://"),
            instance.service,
            instance.version
        );
    }
    if let Some(gateway) = &stack.gateway {
        let _ = writeln!(
            out,
            "      - targets: [\"{}\"]\n        labels: {{app: istio-ingressgateway}}",
            gateway.admin.trim_start_matches("http://")
        );
    }
    out
}

/// The number of targets [`scrape_config`] lists.
pub fn target_count(stack: &state::Stack) -> usize {
    stack
        .instances
        .iter()
        .filter(|i| i.sidecar.is_some())
        .count()
        + usize::from(stack.gateway.is_some())
}

/// `PROMETHEUS_BIN`, else `prometheus` on the `PATH`.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMETHEUS_BIN") {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("prometheus"))
        .find(|path| path.is_file())
}

/// A port free at this moment: Prometheus prints the address it was given, not the one a port 0
/// would get, so the test picks one and hands it over.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}
