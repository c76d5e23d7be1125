//! bench_proxies: many simulated proxies on real gRPC streams to a running control plane, and
//! how fast a config change reaches all of them.
//!
//! `scripts/bench-control.sh` starts `mesh-control` and runs this once per proxy count; its
//! header states the goals. Each simulated proxy does an idle proxy's work: it registers (a
//! unique id, one of a few services, labels, an address where nothing listens) and ACKs every
//! snapshot it receives. The proxies share one HTTP/2 connection per `--per-connection` of
//! them, as sidecars spread over many connections would, without one file descriptor each.
//!
//! Then, `--rounds` times, it changes one VirtualService (a new weight) and measures the time
//! until every proxy has received a snapshot whose `config_version` is the new one. With
//! `--change api` (the default) the change goes through the control plane's Config API, as
//! `sailkit apply` sends it: the clock starts just before the `Apply` call, and the version is
//! the one the call answers. With `--change folder` the file is written into the control
//! plane's `--config-dir` (a temporary file renamed into place): the clock starts just before
//! the rename, the version is computed here with `mesh_config::config_version` as the control
//! plane does, and the changes are spread over the 500 ms folder poll, which is part of the wait.
//! It reads the control plane's memory (VmRSS, the largest seen once all are connected) and
//! CPU time (utime + stime, over the rounds and then idle) from /proc/PID, and its own CPU time:
//! on one machine the simulated proxies' decoding competes with the control plane, and
//! `--versions-only` decodes only the versions of each snapshot to take most of it away.
//!
//! Progress goes to stderr; the results are one line on stdout:
//! `proxies=N median_ms=.. max_ms=.. rss_mb=.. cpu_s_per_change=.. driver_cpu_s_per_change=..
//! idle_cpu_s=..`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::stream::{BoxStream, Stream, StreamExt as _, TryStreamExt as _};
use mesh_api::v1::config_client::ConfigClient;
use mesh_api::v1::discovery_client::DiscoveryClient;
use mesh_api::v1::proxy_message::Kind;
use mesh_api::v1::{Ack, ApplyRequest, ConfigFile, ProxyMessage, Register, Snapshot};
use tokio::sync::mpsc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

/// The file the benchmark owns in the config folder.
const BENCH_FILE: &str = "zz-bench-weights.yaml";
/// How many services the proxies are spread over.
const SERVICES: usize = 4;
/// How often the control plane checks its folder (`config_source/watch.rs`).
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The longest a round may take before the benchmark gives up on it.
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(about = "Simulated proxies against a running mesh-control; measures convergence")]
struct Args {
    /// The control plane's gRPC address (`IP:PORT`).
    #[arg(long)]
    grpc: String,
    /// The control plane's --config-dir.
    #[arg(long)]
    config_dir: PathBuf,
    /// The control plane's process id, for /proc/PID.
    #[arg(long)]
    pid: u32,
    /// How many proxies to simulate.
    #[arg(long, default_value_t = 100)]
    proxies: usize,
    /// Proxies sharing one HTTP/2 connection.
    #[arg(long, default_value_t = 50)]
    per_connection: usize,
    /// Config changes to measure.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds of idle CPU measurement after the rounds.
    #[arg(long, default_value_t = 5)]
    idle_seconds: u64,
    /// How each change is made: `api`, through the Config API's Apply (what `sailkit apply`
    /// does); `folder`, a file renamed into the --config-dir, found by the folder poll.
    #[arg(long, value_enum, default_value_t = Change::Api)]
    change: Change,
    /// Decode only each snapshot's versions, not its files and services: takes the simulated
    /// proxies' decoding (real proxies' work, on their own cores) off the shared cores.
    #[arg(long)]
    versions_only: bool,
    /// Clock ticks per second of /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clock_ticks: u64,
}

/// How the benchmark changes the config.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Change {
    Api,
    Folder,
}

/// A snapshot reached a proxy: which one, with which config version, when.
struct Received {
    proxy: usize,
    config_version: String,
    at: Instant,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.proxies > 0 && args.per_connection > 0 && args.rounds > 0);
    let mut weight = 0;
    let initial = write_bench_file(&args.config_dir, weight)?.1;

    let (events, mut received) = mpsc::unbounded_channel();
    let started = Instant::now();
    let mut channel = None;
    for proxy in 0..args.proxies {
        if proxy % args.per_connection == 0 {
            channel = Some(connect(&args.grpc).await?);
        }
        let channel = channel.clone().context("a connection for every proxy")?;
        let events = events.clone();
        tokio::spawn(async move {
            if let Err(error) = run_proxy(proxy, channel, args.versions_only, events).await {
                eprintln!("proxy {}: {error:#}", proxy_id(proxy));
            }
        });
    }
    let connected = wait_for_version(&mut received, args.proxies, &initial, started).await?;
    eprintln!(
        "{} proxies on {} connections have the config in {connected:?}",
        args.proxies,
        args.proxies.div_ceil(args.per_connection)
    );
    settle(&mut received).await;

    let cpu_before = cpu_seconds(args.pid, args.clock_ticks)?;
    let own_cpu_before = cpu_seconds(std::process::id(), args.clock_ticks)?;
    let mut peak_rss_mb = rss_mb(args.pid)?;
    let mut times = Vec::new();
    for round in 1..=args.rounds {
        weight = 10 * round as u32 % 100;
        let (changed_at, version) = match args.change {
            Change::Api => apply_bench_file(&args.grpc, weight).await?,
            Change::Folder => {
                // Spread the changes over the control plane's poll interval, so they do not all
                // land at the same moment of it and the figures cover the whole wait.
                tokio::time::sleep(POLL_INTERVAL * (round - 1) as u32 / args.rounds as u32).await;
                write_bench_file(&args.config_dir, weight)?
            }
        };
        let took = wait_for_version(&mut received, args.proxies, &version, changed_at).await?;
        eprintln!("round {round}: weight {weight}, all proxies have {version} after {took:?}");
        times.push(took);
        peak_rss_mb = peak_rss_mb.max(rss_mb(args.pid)?);
        settle(&mut received).await;
    }
    let cpu_per_change =
        (cpu_seconds(args.pid, args.clock_ticks)? - cpu_before) / args.rounds as f64;
    // The simulated proxies share the cores with the control plane: their work is shown too.
    let own_cpu_per_change =
        (cpu_seconds(std::process::id(), args.clock_ticks)? - own_cpu_before) / args.rounds as f64;

    let idle_before = cpu_seconds(args.pid, args.clock_ticks)?;
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let idle_cpu = cpu_seconds(args.pid, args.clock_ticks)? - idle_before;

    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "proxies={} median_ms={:.0} max_ms={:.0} rss_mb={peak_rss_mb:.1} cpu_s_per_change={cpu_per_change:.3} driver_cpu_s_per_change={own_cpu_per_change:.3} idle_cpu_s={idle_cpu:.3}",
        args.proxies,
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
    );
    Ok(())
}

/// One HTTP/2 connection to the control plane.
async fn connect(grpc: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{grpc}"))
        .with_context(|| format!("`{grpc}` is not an address"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {grpc}"))
}

fn proxy_id(proxy: usize) -> String {
    format!("bench-{proxy:04}")
}

/// One simulated proxy: registers, then ACKs every snapshot until the stream ends.
async fn run_proxy(
    proxy: usize,
    channel: Channel,
    versions_only: bool,
    events: mpsc::UnboundedSender<Received>,
) -> anyhow::Result<()> {
    let service = format!("bench-{}", proxy % SERVICES);
    let register = Register {
        proxy_id: proxy_id(proxy),
        service: service.clone(),
        labels: [
            ("app".to_owned(), service),
            ("version".to_owned(), format!("v{}", proxy % 3 + 1)),
        ]
        .into(),
        // Unique, and nothing listens there: only the control plane reads it.
        address: format!("127.0.0.1:{}", 20_000 + proxy),
        ..Register::default()
    };
    let (to_control, outgoing) = mpsc::channel::<ProxyMessage>(4);
    let message = |kind| ProxyMessage { kind: Some(kind) };
    to_control.send(message(Kind::Register(register))).await?;
    let outgoing = futures::stream::unfold(outgoing, |mut outgoing| async move {
        outgoing.recv().await.map(|message| (message, outgoing))
    });
    let mut snapshots = open_stream(channel, outgoing, versions_only)
        .await
        .context("the stream was refused")?;
    while let Some((version, config_version)) = snapshots.try_next().await? {
        let at = Instant::now();
        to_control.send(message(Kind::Ack(Ack { version }))).await?;
        if events
            .send(Received {
                proxy,
                config_version,
                at,
            })
            .is_err()
        {
            break;
        }
    }
    bail!("the control plane ended the stream")
}

/// Only the version fields of a `Snapshot` (tags 1 and 4 in mesh.proto): prost skips the
/// files and services without building them. For `--versions-only`.
#[derive(Clone, PartialEq, prost::Message)]
struct SnapshotVersions {
    #[prost(string, tag = "1")]
    version: String,
    #[prost(string, tag = "4")]
    config_version: String,
}

/// The snapshots of a stream as (version, config_version).
type Versions = BoxStream<'static, Result<(String, String), Status>>;

/// Opens the proxy's stream: with the generated client, which decodes whole snapshots as a
/// proxy does, or, `versions_only`, with the same call decoding only the versions.
async fn open_stream(
    channel: Channel,
    outgoing: impl Stream<Item = ProxyMessage> + Send + 'static,
    versions_only: bool,
) -> Result<Versions, Status> {
    if !versions_only {
        let snapshots = DiscoveryClient::new(channel).stream(outgoing).await?;
        let versions = |s: Snapshot| (s.version, s.config_version);
        return Ok(snapshots.into_inner().map_ok(versions).boxed());
    }
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|error| Status::unavailable(error.to_string()))?;
    let codec = tonic_prost::ProstCodec::<ProxyMessage, SnapshotVersions>::default();
    let path = PathAndQuery::from_static("/sailkit.mesh.v1.Discovery/Stream");
    let snapshots = grpc.streaming(Request::new(outgoing), path, codec).await?;
    let versions = |s: SnapshotVersions| (s.version, s.config_version);
    Ok(snapshots.into_inner().map_ok(versions).boxed())
}

/// Waits until every proxy has received `version`; the time from `since` to the last of them.
async fn wait_for_version(
    received: &mut mpsc::UnboundedReceiver<Received>,
    proxies: usize,
    version: &str,
    since: Instant,
) -> anyhow::Result<Duration> {
    let mut have = HashSet::new();
    let mut last = since;
    let deadline = tokio::time::Instant::now() + ROUND_TIMEOUT;
    while have.len() < proxies {
        let event = tokio::time::timeout_at(deadline, received.recv())
            .await
            .with_context(|| {
                format!(
                    "only {} of {proxies} proxies got {version} within {ROUND_TIMEOUT:?}",
                    have.len()
                )
            })?
            .context("every proxy's stream ended")?;
        if event.config_version == version && have.insert(event.proxy) {
            last = last.max(event.at);
        }
    }
    Ok(last.saturating_duration_since(since))
}

/// Lets the pushes of a burst finish (a quiet 300 ms), so a round starts from a still plane.
async fn settle(received: &mut mpsc::UnboundedReceiver<Received>) {
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), received.recv()).await
    {
    }
}

/// The benchmark's VirtualService, with `weight` for v1.
fn bench_text(weight: u32) -> String {
    format!(
        "# Written by bench_proxies: the weight changes on every round.\n\
         apiVersion: networking.istio.io/v1\n\
         kind: VirtualService\n\
         metadata:\n  name: bench-0\n\
         spec:\n  hosts: [bench-0]\n  http:\n  - route:\n\
         \x20   - destination:\n        host: bench-0\n      weight: {weight}\n\
         \x20   - destination:\n        host: bench-1\n      weight: {}\n",
        100 - weight
    )
}

/// Sends the benchmark's VirtualService with `weight` to the Config API, as `sailkit apply`
/// does; returns the instant just before the call and the `config_version` it answers.
async fn apply_bench_file(grpc: &str, weight: u32) -> anyhow::Result<(Instant, String)> {
    let mut client = ConfigClient::new(connect(grpc).await?);
    let request = ApplyRequest {
        files: vec![ConfigFile {
            name: BENCH_FILE.to_owned(),
            yaml: bench_text(weight),
        }],
    };
    let at = Instant::now();
    let answer = client.apply(request).await?.into_inner();
    if !answer.applied {
        bail!(
            "the control plane refused the change: {:?}",
            answer.diagnostics
        );
    }
    Ok((at, answer.config_version))
}

/// Writes the benchmark's VirtualService with `weight` for v1 (a temporary file renamed into
/// place, as editors do); returns the instant just before the rename and the folder's new
/// `config_version`.
fn write_bench_file(dir: &Path, weight: u32) -> anyhow::Result<(Instant, String)> {
    let text = bench_text(weight);
    let version = folder_version(dir, &text)?;
    let temporary = dir.join(format!(".{BENCH_FILE}.tmp"));
    std::fs::write(&temporary, &text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    let at = Instant::now();
    std::fs::rename(&temporary, dir.join(BENCH_FILE))
        .with_context(|| format!("cannot rename {} into place", temporary.display()))?;
    Ok((at, version))
}

/// The `config_version` of the folder's YAML files, sorted by name, with `bench_text` as the
/// benchmark's file: what the control plane will report once it has read the folder.
fn folder_version(dir: &Path, bench_text: &str) -> anyhow::Result<String> {
    let mut files = vec![(BENCH_FILE.to_owned(), bench_text.to_owned())];
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if is_yaml && name != BENCH_FILE && path.is_file() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            files.push((name, text));
        }
    }
    files.sort();
    Ok(mesh_config::config_version(
        files
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_bytes())),
    ))
}

/// The process's resident memory in MB, from `VmRSS` in /proc/PID/status.
fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| {
        format!("cannot read /proc/{pid}/status (has the control plane exited?)")
    })?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS in /proc/{pid}/status"))?;
    Ok(kb / 1024.0)
}

/// The CPU time the process used so far (user + system), in seconds, from /proc/PID/stat.
fn cpu_seconds(pid: u32, clock_ticks: u64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat (has the control plane exited?)"))?;
    // The command name, in parentheses, may hold spaces: count fields after its `)`.
    // After it come field 3 (state) onwards; utime and stime are fields 14 and 15.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<u64> {
        let field = fields
            .get(i)
            .with_context(|| format!("/proc/{pid}/stat is too short"))?;
        field
            .parse()
            .with_context(|| format!("/proc/{pid}/stat: `{field}` is not a number"))
    };
    Ok((ticks(11)? + ticks(12)?) as f64 / clock_ticks as f64)
}
