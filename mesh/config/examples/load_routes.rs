//! Load Istio YAML files the way a sidecar does and say how long each step took.
//!
//! `cargo run --release -p mesh-config --example load_routes -- FILE...`
//!
//! `scripts/bench-routes.sh` measures a whole proxy; this splits its load time into the steps
//! of `mesh_config` (read + parse + check each file, the checks across files, compile), which is
//! what to look at first when a large config is slow.

use std::time::Instant;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: load_routes FILE...");
        std::process::exit(64);
    }
    let start = Instant::now();
    let mut loaded = mesh_config::Loaded::default();
    for file in &files {
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
        files.len(),
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
    // Everything but the table has been freed by now; keeping the table to the end makes a heap
    // profiler's "leaked" total its size: `heaptrack target/release/examples/load_routes FILE`.
    drop(loaded);
    std::mem::forget(table);
}
