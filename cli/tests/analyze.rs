//! `sailkit analyze` run as a binary on files: each kind of finding with its Istio code, file,
//! line and column; the summary; `-o json`; the exit codes (0 clean or warnings only, 79 with
//! an error or at `--failure-threshold`, 1 with nothing to analyze). Workloads come from the
//! registry file a stack without a control plane leaves; without one, the checks that need
//! them are skipped and a line says so. The same against a running stack: `e2e_proxy_config.rs`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::run;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// The registry of reviews v1 and v2 (and nothing else).
fn write_registry(data_dir: &Path) {
    std::fs::create_dir_all(data_dir.join("mesh")).expect("mesh dir");
    let endpoint = |port: u16, version: &str| {
        format!(
            r#"{{"address": "127.0.0.1:{port}", "labels": {{"app": "reviews", "version": "{version}"}}}}"#
        )
    };
    std::fs::write(
        data_dir.join("mesh/registry.json"),
        format!(
            r#"{{"services": [{{"name": "reviews", "endpoints": [{}, {}]}}]}}"#,
            endpoint(9102, "v1"),
            endpoint(9103, "v2")
        ),
    )
    .expect("registry");
}

/// Subsets v1 and v4 (no workload is v4).
const DR: &str = "\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
    - name: v1
      labels: {version: v1}
    - name: v4
      labels: {version: v4}
";

/// A route to subset v2 (not defined), a catch-all in the middle, a copied match, a host no
/// service has.
const VS: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - match:
        - headers:
            end-user: {exact: jason}
      route:
        - destination: {host: reviews, subset: v2}
    - match:
        - uri: {prefix: /reviews}
        - headers:
            end-user: {exact: jason}
      route:
        - destination: {host: reviewz}
    - route:
        - destination: {host: reviews, subset: v1}
    - route:
        - destination: {host: reviews, subset: v4}
";

/// Bound to a Gateway no file defines.
const BOUND: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bookinfo
spec:
  hosts: ['*']
  gateways: [bookinfo-gateway]
  http:
    - route:
        - destination: {host: reviews}
";

fn analyze(data_dir: &Path, args: &[&str]) -> Output {
    let data = data_dir.display().to_string();
    let mut all = vec!["analyze", "--data-dir", &data];
    all.extend(args);
    run(&all)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_finding_with_its_code_resource_and_position() {
    let (data, files) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    write_registry(data.path());
    let dr = write(files.path(), "dr.yaml", DR);
    let vs = write(files.path(), "vs.yaml", VS);
    let bound = write(files.path(), "bound.yaml", BOUND);
    let dir = files.path().display().to_string();
    let output = analyze(data.path(), &[&dir]);
    let shown = stdout(&output);
    let (dr, vs, bound) = (dr.display(), vs.display(), bound.display());
    for expected in [
        format!("Warning [IST0101] (VirtualService default/bookinfo {bound}:7:14) spec.gateways[0]: Referenced gateway not found: \"bookinfo-gateway\""),
        format!("Warning [IST0127] (DestinationRule default/reviews {dr}:11:7) spec.subsets[1].labels: No matching workloads for subset \"v4\""),
        format!("Warning [IST0101] (VirtualService default/reviews {vs}:12:40) spec.http[0].route[0].destination.subset: no DestinationRule defines subset \"v2\""),
        format!("Info [IST0131] (VirtualService default/reviews {vs}:15:11) spec.http[1].match[1]: VirtualService rule #1 match 1 is never the one that matches"),
        format!("Warning [IST0101] (VirtualService default/reviews {vs}:18:25) spec.http[1].route[0].destination.host: no service has host reviewz.default.svc.cluster.local"),
        format!("Warning [IST0130] (VirtualService default/reviews {vs}:21:7) spec.http[3]: VirtualService rule #3 is never used: #2 before it matches every request"),
        "Found 0 errors, 5 warnings and 1 info when analyzing 3 resources in 3 files, against 2 workloads from the registry".to_owned(),
    ] {
        assert!(shown.contains(&expected), "missing {expected:?} in:\n{shown}");
    }
    assert_eq!(shown.lines().count(), 7, "{shown}");
    assert_eq!(output.status.code(), Some(0), "warnings only: {output:?}");

    let strict = analyze(data.path(), &["--failure-threshold", "Warning", &dir]);
    assert_eq!(strict.status.code(), Some(79), "{strict:?}");
}

#[test]
fn an_error_exits_79_and_json_says_the_same() {
    let (data, files) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let typo = write(
        files.path(),
        "typo.yaml",
        &VS.replace("  hosts:", "  hostz:"),
    );
    let dr = write(files.path(), "dr.yaml", DR);
    let paths = [typo.display().to_string(), dr.display().to_string()];

    let output = analyze(data.path(), &[&paths[0], &paths[1]]);
    assert_eq!(output.status.code(), Some(79), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Workloads not checked") && stderr.contains("no stack is running"),
        "{stderr}"
    );
    let shown = stdout(&output);
    assert!(
        shown.contains(&format!("Error [IST0106] ({}:6:3) spec.hostz:", paths[0])),
        "{shown}"
    );
    assert!(
        !shown.contains("IST0127"),
        "no workloads, no label check: {shown}"
    );

    let json = analyze(data.path(), &["-o", "json", &paths[0], &paths[1]]);
    assert_eq!(json.status.code(), Some(79));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["summary"]["errors"], 1, "{value:#}");
    assert_eq!(value["summary"]["files"], 2);
    assert_eq!(value["workloads"]["checked"], false);
    let first = &value["findings"][0];
    assert_eq!(first["level"], "Error");
    assert_eq!(first["code"], "IST0106");
    assert_eq!(first["name"], "SchemaValidationError");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(6), Some(3))
    );
    assert_eq!(first["resource"], serde_json::Value::Null);
}

#[test]
fn clean_files_exit_0_and_nothing_to_analyze_exits_1() {
    let (data, files) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let dr = write(files.path(), "dr.yaml", DR);
    let output = analyze(data.path(), &[&dr.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        stdout(&output)
            .contains("\u{2714} No validation issues found when analyzing 1 resource in 1 file."),
        "{output:?}"
    );

    // No files given, and no config in force.
    let none = analyze(data.path(), &[]);
    assert_eq!(none.status.code(), Some(1), "{none:?}");
    assert!(String::from_utf8_lossy(&none.stderr).contains("nothing to analyze"));
}
