//! The `mesh-control` binary: its help, its address file, and SIGTERM.

use std::process::{Command, Stdio};

use crate::support::{BINARY, PATIENCE, read_when_written, until_ready};

#[test]
fn help_explains_every_flag() {
    let output = Command::new(BINARY).arg("--help").output().expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--config-dir",
        "--grpc",
        "--admin",
        "--addr-file",
        "--debounce-ms",
        "--max-proxies",
        "--namespace",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("[default: 127.0.0.1:15010]"), "{help}");
}

#[tokio::test]
async fn the_binary_writes_its_addresses_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let addr_file = dir.path().join("addr");
    let mut child = tokio::process::Command::new(BINARY)
        .args([
            "--grpc",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--addr-file",
        ])
        .arg(&addr_file)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");

    let text = read_when_written(&addr_file).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("grpc=127.0.0.1:"), "{text}");
    let admin = lines[1].strip_prefix("admin=").expect("an admin line");
    until_ready(admin.parse().expect("an address")).await;

    let pid = child.id().expect("running").to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("stops within the patience")
        .expect("waits");
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use tokio::io::AsyncReadExt as _;
        stdout
            .read_to_string(&mut log)
            .await
            .expect("reads the log");
    }
    assert!(log.contains("control plane serving gRPC on"), "{log}");
    assert!(log.contains("control plane stopping"), "{log}");
}
