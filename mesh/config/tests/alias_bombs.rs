//! Alias bombs: a few hundred bytes of nested `&anchors` and `*aliases` that stand for hundreds
//! of millions of nodes. Each must be refused at the alias (or merge key) that crosses a limit,
//! with the limit named, while this test process stays small. A file that uses a few aliases
//! the ordinary way still loads.

use mesh_config::{Diagnostic, Spec, load_str};

/// The letters of the bomb's levels: `a` holds nine strings, each next level nine aliases of the
/// level before.
const LEVELS: &[u8] = b"abcdefghi";

/// The bomb from the report: `a: &a ["lol", ...]`, then `b: &b [*a, *a, ...]` and so on to `i`,
/// 9^9 (387 million) strings once expanded.
fn sequence_bomb() -> String {
    let mut text = format!("a: &a [\"lol\"{}]\n", ",\"lol\"".repeat(8));
    for pair in LEVELS.windows(2) {
        let (previous, next) = (pair[0] as char, pair[1] as char);
        let aliases = vec![format!("*{previous}"); 9].join(",");
        text += &format!("{next}: &{next} [{aliases}]\n");
    }
    text
}

/// The same bomb made of mappings: `b: &b {k0: *a, k1: *a, ...}`.
fn mapping_bomb() -> String {
    let entries = |value: &str| {
        (0..9)
            .map(|k| format!("k{k}: {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("a: &a {{{}}}\n", entries("lol"));
    for pair in LEVELS.windows(2) {
        let (previous, next) = (pair[0] as char, pair[1] as char);
        text += &format!("{next}: &{next} {{{}}}\n", entries(&format!("*{previous}")));
    }
    text
}

/// The bomb through merge keys: each level merges the one before and adds aliases of it.
fn merge_key_bomb() -> String {
    let mut text = "a: &a {k0: lol, k1: lol, k2: lol}\n".to_owned();
    for pair in LEVELS.windows(2) {
        let (previous, next) = (pair[0] as char, pair[1] as char);
        let merged = vec![format!("*{previous}"); 9].join(", ");
        text += &format!("{next}: &{next} {{<<: [{merged}], x: *{previous}}}\n");
    }
    text
}

/// The only diagnostic of `text` loaded as `bomb.yaml`; it must be an error and nothing loads.
fn refusal(text: &str) -> Diagnostic {
    let loaded = load_str("bomb.yaml", text);
    assert!(loaded.resources.is_empty());
    match loaded.diagnostics.as_slice() {
        [one] if one.is_error() => one.clone(),
        other => panic!("expected one error, got {other:#?}"),
    }
}

/// The most memory this test process has held (its peak resident set, from Linux's `VmHWM`).
fn peak_memory_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib / 1024
}

/// A bomb costs what the limits allow, a few MB, not its expansion: every test in this file
/// together stays well under this.
const PEAK_MIB: u64 = 100;

fn assert_small() {
    let peak = peak_memory_mib();
    assert!(peak < PEAK_MIB, "the test process grew to {peak} MiB");
}

#[test]
fn the_sequence_bomb_is_refused_at_the_alias_past_the_limit() {
    let bomb = sequence_bomb();
    assert_eq!(bomb.len(), 342, "the size of the reported file");
    let refused = refusal(&bomb);
    // Levels b to d copy 8,289 nodes, and each `*d` 7,381 more: five fit in 50,000, the sixth
    // on line 5 (`e: &e [*d,*d,*d,*d,*d,*d,...`) does not.
    assert_eq!((refused.line, refused.column), (5, 23), "{refused}");
    assert!(
        refused
            .to_string()
            .starts_with("bomb.yaml:5:23: error: YAML over a limit: alias *d copies 7381 nodes"),
        "{refused}"
    );
    assert!(
        refused
            .message
            .contains("the limit of 50000 nodes copied by aliases"),
        "{refused}"
    );
    assert_small();
}

#[test]
fn the_mapping_bomb_is_refused_at_the_alias_past_the_limit() {
    let refused = refusal(&mapping_bomb());
    // As the sequence bomb, at the sixth alias of line 5: `e: &e {k0: *d, ... k5: *d`.
    assert_eq!((refused.line, refused.column), (5, 52), "{refused}");
    assert!(
        refused.message.contains("alias *d copies 7381 nodes"),
        "{refused}"
    );
    assert!(
        refused.message.contains("limit of 50000 nodes"),
        "{refused}"
    );
    assert_small();
}

#[test]
fn the_merge_key_bomb_is_refused_at_its_first_merge_key() {
    let refused = refusal(&merge_key_bomb());
    // `b: &b {<<: [...`: the first merge key, before anything is copied.
    assert_eq!((refused.line, refused.column), (2, 8), "{refused}");
    assert!(
        refused
            .to_string()
            .starts_with("bomb.yaml:2:8: error: unsupported YAML: merge keys (`<<`)"),
        "{refused}"
    );
    assert_small();
}

#[test]
fn copies_of_a_long_string_are_refused_by_their_bytes() {
    // 100 aliases of a 20 KB string: few nodes, 2 MB of text.
    let long = "x".repeat(20_000);
    let mut text = format!("a: &a {long}\nlist:\n");
    for _ in 0..100 {
        text += "  - *a\n";
    }
    let refused = refusal(&text);
    // 26 copies fit in 512 KiB; the 27th, on line 29, does not.
    assert_eq!((refused.line, refused.column), (29, 5), "{refused}");
    assert!(
        refused
            .message
            .contains("alias *a copies 20000 bytes of text")
            && refused
                .message
                .contains("limit of 524288 bytes copied by aliases"),
        "{refused}"
    );
    assert_small();
}

#[test]
fn a_file_with_a_few_aliases_still_loads() {
    // A traffic policy written once and repeated by alias, and a host named once: what a person
    // tidying their files might do. Anchors belong to their document.
    let text = "\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy: &policy
    connectionPool:
      http:
        http1MaxPendingRequests: 1
  subsets:
    - name: v1
      labels: {version: v1}
      trafficPolicy: *policy
    - name: v2
      labels: {version: v2}
      trafficPolicy: *policy
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [&host reviews]
  http:
    - route:
        - destination: {host: *host, subset: v1}
";
    let loaded = load_str("aliases.yaml", text);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.resources.len(), 2);
    let Spec::DestinationRule(rule) = &loaded.resources[0].spec else {
        panic!("a DestinationRule first");
    };
    assert_eq!(rule.subsets.len(), 2);
    assert!(rule.traffic_policy.is_some());
    assert_eq!(
        rule.subsets[1].traffic_policy, rule.traffic_policy,
        "the alias copied the policy"
    );
    let Spec::VirtualService(service) = &loaded.resources[1].spec else {
        panic!("a VirtualService second");
    };
    assert_eq!(service.hosts, ["reviews"]);
    assert_small();
}
