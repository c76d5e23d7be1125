//! `sailkit dashboard`: its flags, and the `main` that runs the dashboard until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Args};

use crate::metrics::MetricsSource;
use crate::start::{Config, start};
use crate::traces::store::Caps;

pub const DASHBOARD_AFTER_HELP: &str = "\
Where the numbers come from (one of):
  --scrape URL       the dashboard reads each sidecar's /stats/prometheus itself every 2 s
                     (give each sidecar's admin address; repeat the flag): on a laptop,
                     no Prometheus needed.
  --prometheus URL   ask a Prometheus server that scrapes the sidecars (compose, Kubernetes),
                     with the queries Kiali builds its graph from.
Both read Istio's standard metrics: istio_requests_total and
istio_request_duration_milliseconds (reporter, source_workload, destination_workload, ...).

Traces: point the OTLP exporters (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317) at --otlp.
The dashboard keeps the most recent traces in memory (--max-traces, --max-spans-per-trace).
With --access-logs DIR (a folder of the proxies' <name>.log files; `sailkit up` passes its
<data-dir>/logs), a trace's page also shows the access log line of each hop: every proxy ends
its lines with the trace id.

Routing: with --control-plane URL (the control plane's gRPC address, as `sailkit apply
--control-plane` takes it), a workload's page shows the VirtualServices and DestinationRules in
force for its service, with their YAML. `sailkit up` passes its own.

Pages: / the live service graph (JSON at /api/graph), /traces the recent traces (filter with
?service=, ?error=1, ?id=, ?from=&to=), /traces/ID a waterfall and its access log lines,
/workloads/NAMESPACE/NAME the golden signals and the routing in force of one workload.

Examples:
  sailkit dashboard --prometheus http://127.0.0.1:9090
  sailkit dashboard --scrape http://127.0.0.1:15000 --scrape http://127.0.0.1:15001 \\
      --access-logs data/logs --control-plane http://127.0.0.1:9089";

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("metrics").required(true).args(["prometheus", "scrape"])))]
pub struct DashboardArgs {
    /// A Prometheus server's address (http://HOST:PORT) to query for the graph.
    #[arg(long, value_name = "URL", value_parser = parse_http_url)]
    pub prometheus: Option<String>,

    /// A sidecar's admin address (http://HOST:PORT) to scrape; repeat for each sidecar.
    #[arg(long, value_name = "URL", value_parser = parse_http_url)]
    pub scrape: Vec<String>,

    /// Where to receive OTLP traces over gRPC.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317")]
    pub otlp: SocketAddr,

    /// Where to serve the pages (20001 is Kiali's port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:20001")]
    pub listen: SocketAddr,

    /// The window rates and latencies are computed over, in seconds [default: 10 when
    /// scraping, 60 with Prometheus].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub window: Option<u64>,

    /// Traces kept in memory; the oldest is dropped for a new one.
    #[arg(long, value_name = "N", default_value_t = Caps::default().max_traces,
          value_parser = at_least_one)]
    pub max_traces: usize,

    /// Spans kept per trace; later ones are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = Caps::default().max_spans_per_trace,
          value_parser = at_least_one)]
    pub max_spans_per_trace: usize,

    /// A folder of the proxies' log files (`<name>.log`): a trace's page shows its hops'
    /// access log lines.
    #[arg(long, value_name = "DIR")]
    pub access_logs: Option<PathBuf>,

    /// The control plane's gRPC address (http://HOST:PORT): a workload's page shows the
    /// VirtualServices and DestinationRules in force for its service.
    #[arg(long, value_name = "URL", value_parser = parse_http_url)]
    pub control_plane: Option<String>,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{text}`: expected a whole number, 1 or more")),
    }
}

fn parse_http_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|error| format!("`{text}` is not a URL: {error}"))?;
    if url.scheme() != "http" || url.host().is_none() {
        return Err(format!("`{text}`: expected http://HOST:PORT"));
    }
    Ok(text.trim_end_matches('/').to_string())
}

impl DashboardArgs {
    pub fn config(&self) -> Config {
        let mut metrics = match &self.prometheus {
            Some(url) => MetricsSource::prometheus(url.clone()),
            None => MetricsSource::scrape(self.scrape.clone()),
        };
        if let Some(seconds) = self.window {
            let seconds = Duration::from_secs(seconds);
            match &mut metrics {
                MetricsSource::Scrape { window, .. } | MetricsSource::Prometheus { window, .. } => {
                    *window = seconds;
                }
            }
        }
        Config {
            listen: self.listen,
            otlp: self.otlp,
            metrics,
            trace_caps: Caps {
                max_traces: self.max_traces,
                max_spans_per_trace: self.max_spans_per_trace,
            },
            refresh: Duration::from_secs(3),
            access_logs: self.access_logs.clone(),
            control_plane: self.control_plane.clone(),
        }
    }
}

/// Runs the dashboard until Ctrl-C or SIGTERM. Exit code 69 when a port cannot be had.
pub fn main(args: DashboardArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sailkit dashboard: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = args.config();
    runtime.block_on(async {
        let running = match start(config.clone()).await {
            Ok(running) => running,
            Err(error) => {
                eprintln!("sailkit dashboard: {error}");
                return ExitCode::from(69);
            }
        };
        println!("sailkit dashboard: http://{}/", running.http_addr);
        match &config.metrics {
            MetricsSource::Scrape { targets, .. } => {
                println!("  metrics: scraping {} sidecar(s) every 2 s", targets.len());
            }
            MetricsSource::Prometheus { url, .. } => println!("  metrics: Prometheus at {url}"),
        }
        println!("  traces:  OTLP gRPC on {}", running.otlp_addr);
        until_signal().await;
        running.stop().await;
        ExitCode::SUCCESS
    })
}

async fn until_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: DashboardArgs,
    }

    #[test]
    fn one_metrics_source_is_required_and_urls_are_checked() {
        assert!(Command::try_parse_from(["d"]).is_err());
        assert!(Command::try_parse_from(["d", "--prometheus", "ftp://x"]).is_err());
        assert!(
            Command::try_parse_from(["d", "--prometheus", "http://p", "--max-traces", "0"])
                .is_err()
        );
        assert!(
            Command::try_parse_from([
                "d",
                "--prometheus",
                "http://p:9090",
                "--scrape",
                "http://s:1"
            ])
            .is_err()
        );
        let parsed = Command::try_parse_from([
            "d",
            "--scrape",
            "http://a:1/",
            "--scrape",
            "http://b:2",
            "--window",
            "30",
        ])
        .unwrap();
        let config = parsed.args.config();
        assert_eq!(
            config.metrics,
            MetricsSource::Scrape {
                targets: vec!["http://a:1".into(), "http://b:2".into()],
                interval: Duration::from_secs(2),
                window: Duration::from_secs(30),
            }
        );
        assert_eq!(config.listen.port(), 20001);
        assert_eq!(config.otlp.port(), 4317);
        assert_eq!(config.access_logs, None);
        assert_eq!(config.control_plane, None);
    }

    #[test]
    fn the_optional_sources_are_a_folder_and_an_http_url() {
        let with = |flags: &[&str]| {
            Command::try_parse_from([&["d", "--prometheus", "http://p:9090"], flags].concat())
        };
        assert!(with(&["--control-plane", "grpc://c:9089"]).is_err());
        let config = with(&[
            "--access-logs",
            "data/logs",
            "--control-plane",
            "http://127.0.0.1:9089/",
        ])
        .unwrap()
        .args
        .config();
        assert_eq!(config.access_logs, Some(PathBuf::from("data/logs")));
        assert_eq!(
            config.control_plane.as_deref(),
            Some("http://127.0.0.1:9089")
        );
    }
}
