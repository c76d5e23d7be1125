//! Fuzz target `request_path`: any bytes, sent as a raw HTTP/1.1 (or h2c) connection to the
//! outbound listener's handler, must never panic the proxy.
//!
//! The bytes go through the same layers as a real connection: hyper-util's `auto` server
//! (HTTP/1.1, or HTTP/2 if the bytes start with the preface) over an in-memory duplex stream,
//! then `outbound::handle` with a fixed route table and registry. The table below has a rule
//! for each stage that needs no upstream: header, URI, method and query matches (exact, prefix,
//! regex), an injected abort and delay, a redirect, a rewrite with header operations, a mirror,
//! consistent hashing on a header, circuit breaking and outlier detection. The registry lists
//! the services but no endpoints, so a forwarded request ends in `balance` (503 `UH`) after its
//! body was read and its upstream request prepared: no network is used, and one run is
//! deterministic apart from the weighted roll.
//!
//! Time is paused (tokio's `test-util`): a delay fault or a retry back-off advances the clock
//! instead of sleeping, so a run stays fast. The server is hyper-util's `auto` builder as the
//! `listener` crate uses it, without its per-connection watchdog (the input is one short
//! exchange, and the clock is paused), and with HTTP/1.1 half-close: the fuzzer's client shuts
//! its write side after the request, and the server must still answer.
//!
//! Run it with `scripts/fuzz.sh`; see docs/fuzzing.md.

#![no_main]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Parser as _;
use hyper::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use libfuzzer_sys::fuzz_target;
use mesh_proxy::log_buffer::LogBuffer;
use mesh_proxy::metrics::{Metrics, ServiceLabels, WorkloadLabels};
use mesh_proxy::registry::Registry;
use mesh_proxy::server::ClientAddr;
use mesh_proxy::state::{Routes, Shared, Snapshot};
use mesh_proxy::{Proxy, Settings, outbound, stage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// The route table every input meets.
const CONFIG: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - name: jason
      match:
        - headers:
            end-user:
              regex: "ja[a-z]+"
      fault:
        delay: {fixedDelay: 2s, percentage: {value: 50}}
        abort: {httpStatus: 418, percentage: {value: 50}}
      route:
        - destination: {host: reviews, subset: v2}
    - match:
        - uri: {prefix: /old}
      redirect: {uri: /new, authority: ratings, redirectCode: 308}
    - match:
        - uri: {regex: "/reviews/[0-9]+"}
          method: {exact: POST}
          queryParams:
            debug: {exact: "1"}
        - uri: {exact: /rewrite}
      rewrite: {uri: /v2/reviews, authority: reviews-v2}
      headers:
        request:
          set: {x-set: "1"}
          add: {x-add: "2"}
          remove: [cookie]
        response:
          set: {x-reply: "3"}
      mirror: {host: details}
      mirrorPercentage: {value: 100}
      timeout: 1s
      retries: {attempts: 2, perTryTimeout: 100ms, retryOn: "5xx,connect-failure"}
      route:
        - destination: {host: reviews, subset: v1}
          weight: 50
        - destination: {host: reviews, subset: v3}
          weight: 50
    - match:
        - uri: {prefix: /reviews}
          sourceLabels: {app: productpage}
          port: 9080
      route:
        - destination: {host: reviews, subset: v1}
    - match:
        - uri: {prefix: /undefined-subset}
      route:
        - destination: {host: reviews, subset: v9}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user}
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1, maxRetries: 1}
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m}
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
    - {name: v3, labels: {version: v3}}
"#;

const REGISTRY: &str = r#"{"services": [
    {"name": "reviews", "endpoints": []},
    {"name": "details", "endpoints": []},
    {"name": "ratings", "endpoints": []}
]}"#;

/// Built once per fuzzing process: the runtime and the proxy.
struct Harness {
    runtime: Runtime,
    proxy: Arc<Proxy>,
    /// `FUZZ_SHOW_RESPONSE=1`: print each response, to check what an input reaches.
    show: bool,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let loaded = mesh_config::load_str("fuzz.yaml", CONFIG);
        assert!(
            !loaded.has_errors(),
            "the fuzz target's own config must load: {:?}",
            loaded.diagnostics
        );
        // Parsed like the command line, so a new option with a default needs no change here.
        let settings = Settings::try_parse_from([
            "mesh-proxy",
            "--registry",
            "unused-registry.json",
            "--outbound",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--label",
            "app=productpage,version=v1",
        ])
        .expect("the fuzz target's settings parse");
        // As `Registry::load` does, without the file.
        let mut registry: Registry = serde_json::from_str(REGISTRY).expect("the registry parses");
        registry
            .prepare(&settings.namespace)
            .expect("the registry prepares");
        let snapshot = Snapshot {
            routes: Some(Arc::new(Routes::new(
                mesh_config::compile_in(&loaded.resources, &settings.namespace),
                Vec::new(),
            ))),
            registry: Some(Arc::new(registry)),
            ..Snapshot::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a tokio runtime");
        // The pooled clients need a runtime to exist when they are built.
        let client = runtime.block_on(async { stage::forward::client() });
        // Lines go to standard output; `scripts/fuzz.sh` closes it (`-close_fd_mask=1`).
        let access_log = LogBuffer::new(settings.access_log);
        // No `--otlp-endpoint`: trace context is propagated, nothing is exported.
        let tracing = mesh_proxy::trace::Tracing::new(&settings);
        let proxy = Arc::new(Proxy {
            labels: settings.labels.iter().cloned().collect(),
            tracing,
            settings,
            state: Shared::from_pointee(snapshot),
            stats: Arc::default(),
            metrics: Metrics::new(WorkloadLabels::unknown(), ServiceLabels::unknown()),
            client,
            breakers: Default::default(),
            detectors: Default::default(),
            access_log,
        });
        let show = std::env::var_os("FUZZ_SHOW_RESPONSE").is_some_and(|v| v == "1");
        Harness {
            runtime,
            proxy,
            show,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Harness {
        runtime,
        proxy,
        show,
    } = harness();
    runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let proxy = proxy.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ClientAddr(SocketAddr::from(([127, 0, 0, 1], 40000))));
            let proxy = proxy.clone();
            async move { Ok::<_, Infallible>(outbound::handle(proxy, request).await) }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().half_close(true);
        let connection = builder.serve_connection(TokioIo::new(server), service);
        let exchange = async {
            // Errors are fine (the server may close early on garbage); panics are not.
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut response = Vec::new();
            let _ = client.read_to_end(&mut response).await;
            if *show {
                eprintln!("{}", String::from_utf8_lossy(&response));
            }
        };
        // Paused time: this bound costs nothing unless the exchange really stops making progress.
        let _ = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(connection, exchange)
        })
        .await;
    });
});
