//! Load Istio YAML files the way a sidecar does and say how long each step took.
//!
//! `cargo run --release -p mesh-config --example load_routes -- FILE... [--lookup HOST/PATH]`
//!
//! `scripts/bench-routes.sh` measures a whole proxy; this splits its load time into the steps
//! of `mesh_config` (read + parse + check each file, the checks across files, compile), which is
//! what to look at first when a large config is slow. With `--lookup reviews/routes/9999/x` it
//! also times the route lookup of that request (host `reviews`, path `/routes/9999/x`).

use std::collections::BTreeMap;
use std::time::Instant;

use mesh_config::RequestView;

/// Lookups timed with `--lookup`, after a first one that fills the regex engines' caches.
const LOOKUPS: u32 = 1000;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let lookup = match args.iter().position(|a| a == "--lookup") {
        Some(at) if at + 1 < args.len() => {
            let target = args.remove(at + 1);
            args.remove(at);
            Some(target)
        }
        _ => None,
    };
    if args.is_empty() {
        eprintln!("usage: load_routes FILE... [--lookup HOST/PATH]");
        std::process::exit(64);
    }
    let start = Instant::now();
    let mut loaded = mesh_config::Loaded::default();
    for file in &args {
        let one = mesh_config::load_file(file);
        loaded.resources.extend(one.resources);
        loaded.diagnostics.extend(one.diagnostics);
    }
    let parsed = start.elapsed();
    let across = mesh_config::validate::check_set(&loaded.resources);
    let checked = start.elapsed();
    let table = mesh_config::compile(&loaded.resources);
    let compiled = start.elapsed();
    let rules: usize = table
        .virtual_services()
        .iter()
        .map(|vs| vs.rules.len())
        .sum();
    println!(
        "{} files, {} resources, {} rules, {} diagnostics",
        args.len(),
        loaded.resources.len(),
        rules,
        loaded.diagnostics.len() + across.len()
    );
    println!(
        "load {:?}, checks across files {:?}, compile {:?}, total {:?}",
        parsed,
        checked - parsed,
        compiled - checked,
        compiled
    );
    if let Some(target) = lookup {
        let (host, path) = target.split_at(target.find('/').unwrap_or(target.len()));
        let labels = BTreeMap::new();
        let headers: [(&str, &str); 0] = [];
        let request = RequestView {
            host,
            port: 9080,
            method: "GET",
            path,
            query: "",
            headers: &headers,
            source_labels: &labels,
            gateway: None,
        };
        let first = Instant::now();
        let found = table.route(&request).map(|d| d.rule.index);
        let first = first.elapsed();
        let timer = Instant::now();
        for _ in 0..LOOKUPS {
            std::hint::black_box(table.route(std::hint::black_box(&request)));
        }
        println!(
            "lookup of {target}: rule {found:?}, first {first:?}, then {:?} each",
            timer.elapsed() / LOOKUPS
        );
    }
    // Everything but the table has been freed by now; keeping the table to the end makes a heap
    // profiler's "leaked" total its size: `heaptrack target/release/examples/load_routes FILE`.
    drop(loaded);
    std::mem::forget(table);
}
