//! Fuzz target `config_load`: any bytes, read as an Istio YAML file, must never panic.
//!
//! The input goes the whole way a config directory goes in the proxy: `load_str` (YAML, the
//! typed model, per-resource checks), the checks across the set (`check_set`), `compile` into a
//! route table, and a few lookups in that table, so the compiled matchers and the weighted
//! choice run on whatever the fuzzer managed to get past validation. Diagnostics are formatted
//! too: their `Display` is what the proxy logs.
//!
//! Run it with `scripts/fuzz.sh` (seeds: `k8s/networking/*.yaml` and the anchors, aliases and
//! alias bombs of `fuzz/seeds/config_load/`); see docs/fuzzing.md.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mesh_config::{Lookup, RequestView};

fuzz_target!(|data: &[u8]| {
    // Lossy, not `from_utf8`: a stray byte should not waste the rest of an interesting input.
    let text = String::from_utf8_lossy(data);
    let mut loaded = mesh_config::load_str("fuzz.yaml", &text);
    loaded
        .diagnostics
        .extend(mesh_config::validate::check_set(&loaded.resources));
    for diagnostic in &loaded.diagnostics {
        let _ = diagnostic.to_string();
    }
    // The proxy compiles only a set without errors; compiling the rest too costs nothing here
    // and checks that `compile` itself copes with anything the loader lets through.
    let table = mesh_config::compile_in(&loaded.resources, "default");
    let labels = BTreeMap::from([("app".to_owned(), "productpage".to_owned())]);
    let headers = [("end-user", "jason"), ("x-request-id", "1")];
    for host in [
        "reviews",
        "reviews.default.svc.cluster.local:9080",
        "example.com",
    ] {
        for gateway in [None, Some("bookinfo-gateway"), Some("istio-system/gw")] {
            let request = RequestView {
                host,
                port: 9080,
                method: "GET",
                path: "/reviews/0",
                query: "a=1",
                headers: &headers,
                source_labels: &labels,
                gateway,
            };
            if let Lookup::Matched(decision) = table.lookup(&request) {
                for roll in [0.0, 0.5, 0.999_999] {
                    if let Some(destination) = decision.rule.choose(roll) {
                        let _ = table.destination_policy(
                            &destination.host,
                            destination.subset.as_deref(),
                            destination.port,
                        );
                    }
                }
            }
        }
    }
});
