//! What counting one request in Istio's metrics costs: `cargo run --release -p mesh-proxy
//! --example metrics_cost`. Records ten million requests spread over a few series (as a
//! sidecar sees a few peers and codes), on one thread as the proxy's default `--workers 1`,
//! and prints the time per request.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use mesh_proxy::flags::Flags;
use mesh_proxy::metrics::{
    Call, Metrics, Protocol, Reporter, ServiceLabels, WorkloadLabels, intern,
};

fn main() {
    let labels = |app: &str, version: &str| {
        let labels = BTreeMap::from([
            ("app".to_owned(), app.to_owned()),
            ("version".to_owned(), version.to_owned()),
        ]);
        WorkloadLabels::new(
            &format!("{app}-{version}"),
            "default",
            "Kubernetes",
            &labels,
        )
    };
    let metrics = Metrics::new(
        labels("productpage", "v1"),
        ServiceLabels::new("productpage", "productpage.default.svc.cluster.local"),
    );
    let service = intern::service(ServiceLabels::new(
        "reviews",
        "reviews.default.svc.cluster.local",
    ));
    let calls: Vec<Call> = ["v1", "v2", "v3"]
        .iter()
        .map(|version| Call {
            peer: intern::workload(labels("reviews", version)),
            service,
            ..Call::new(Reporter::Source, Protocol::Http)
        })
        .collect();
    let requests: u32 = 10_000_000;
    let started = Instant::now();
    for i in 0..requests {
        let call = &calls[i as usize % calls.len()];
        let code = if i % 100 == 0 { 503 } else { 200 };
        metrics.record(
            black_box(call),
            code,
            Flags::new(),
            Duration::from_micros(u64::from(i % 5000)),
            0,
            295,
        );
    }
    let elapsed = started.elapsed();
    println!(
        "{requests} requests over {} series: {:.1} ns per request",
        calls.len() * 2,
        elapsed.as_nanos() as f64 / f64::from(requests)
    );
}
