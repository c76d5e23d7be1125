//! The `sailkit` command line: help texts, and `sailkit serve` running one service for real.

mod support;

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{run, sailkit, signal, wait_for_file, wait_with_timeout};

fn stdout(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "sailkit {args:?} failed: {output:?}"
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn help_lists_the_commands() {
    let help = stdout(&["--help"]);
    for command in ["up", "serve", "status", "load"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    assert!(
        help.contains("--port-base"),
        "up's options at the top:\n{help}"
    );
}

#[test]
fn up_help_explains_the_ports_and_the_data_directory() {
    let help = stdout(&["up", "--help"]);
    for text in [
        "--port-base",
        "--data-dir",
        "--no-restart",
        "9080",
        "9088  istio-ingressgateway",
        "9089  sailkit-control",
        "stack.json",
    ] {
        assert!(help.contains(text), "{text} missing from:\n{help}");
    }
}

#[test]
fn serve_help_lists_the_services_and_the_listen_options() {
    let help = stdout(&["serve", "--help"]);
    for text in [
        "productpage",
        "details",
        "reviews",
        "ratings",
        "banner",
        "[PORT]",
        "--bind",
    ] {
        assert!(help.contains(text), "{text} missing from:\n{help}");
    }
}

#[test]
fn an_unknown_service_is_a_usage_error() {
    let output = run(&["serve", "mongodb"]);
    assert_eq!(output.status.code(), Some(2), "clap's usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mongodb"), "{stderr}");
}

#[test]
fn status_without_a_stack_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(&["status", "--data-dir", &dir.path().display().to_string()]);
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("not running"), "{text}");
}

#[tokio::test]
async fn serve_runs_a_service_reports_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr_file = dir.path().join("details.addr");
    let mut child = sailkit()
        .args(["serve", "details", "0", "--bind", "127.0.0.1"])
        .env("SAILKIT_ADDR_FILE", &addr_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sailkit serve starts");

    let addr = wait_for_file(&addr_file, Duration::from_secs(30)).expect("the address is written");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let health: serde_json::Value = support::http()
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .expect("details answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(health["status"], "Details is healthy");

    signal(child.id(), Signal::SIGTERM);
    let status = wait_with_timeout(&mut child, Duration::from_secs(10)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("sailkit serve did not stop on SIGTERM")
    });
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn serve_stops_when_its_stdin_closes_if_asked_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr_file = dir.path().join("details.addr");
    let mut child = sailkit()
        .args(["serve", "details", "0", "--bind", "127.0.0.1"])
        .env("SAILKIT_ADDR_FILE", &addr_file)
        .env("SAILKIT_EXIT_ON_STDIN_EOF", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sailkit serve starts");
    wait_for_file(&addr_file, Duration::from_secs(30)).expect("the address is written");

    // What happens to an instance when its launcher dies: the pipe closes.
    drop(child.stdin.take());
    let status = wait_with_timeout(&mut child, Duration::from_secs(20)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("sailkit serve did not stop when its stdin closed")
    });
    assert!(status.code().is_some(), "it exited by itself: {status}");
}
