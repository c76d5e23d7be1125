//! The `mesh-control` binary: its help, its address file, SIGTERM, and `--kubernetes` with the
//! client configuration from KUBECONFIG.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fake_api::FakeApi;
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
        "--kubernetes",
        "--watch-namespace",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("[default: 127.0.0.1:15010]"), "{help}");
}

#[tokio::test]
async fn the_binary_writes_its_addresses_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let addr_file = dir.path().join("addr");
    let mut child = on_port_0(&addr_file)
        .stdout(Stdio::piped())
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

#[tokio::test]
async fn with_kubernetes_the_binary_finds_the_api_server_in_kubeconfig() {
    let api = FakeApi::start().await;
    api.apply(
        "/apis/networking.istio.io/v1/gateways",
        serde_json::json!({"metadata": {"name": "bookinfo-gateway", "namespace": "bookinfo"},
            "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
                {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}),
    );
    let dir = tempfile::tempdir().expect("temporary folder");
    let kubeconfig = dir.path().join("kubeconfig");
    let url = &api.url;
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters: [{{name: fake, cluster: {{server: \"{url}\"}}}}]\n\
             users: [{{name: fake, user: {{}}}}]\n\
             contexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]\n"
        ),
    )
    .expect("writes the kubeconfig");
    let addr_file = dir.path().join("addr");
    let mut child = on_port_0(&addr_file)
        .arg("--kubernetes")
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .spawn()
        .expect("starts");
    let text = read_when_written(&addr_file).await;
    let admin = text
        .lines()
        .find_map(|l| l.strip_prefix("admin="))
        .expect("an admin line");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let dump: serde_json::Value = loop {
        if let Ok(response) = reqwest::get(format!("http://{admin}/config_dump")).await
            && let Ok(dump) = response.json::<serde_json::Value>().await
            && dump["files"].as_array().is_some_and(|f| !f.is_empty())
        {
            break dump;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Gateway never came"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        dump["files"],
        serde_json::json!(["Gateway bookinfo/bookinfo-gateway"])
    );
    child.start_kill().expect("stops");
}

#[test]
fn with_kubernetes_and_no_client_configuration_the_binary_exits_64_saying_so() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let output = Command::new(BINARY)
        .args([
            "--kubernetes",
            "--grpc",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
        ])
        .env("KUBECONFIG", dir.path().join("missing"))
        .env("HOME", dir.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--kubernetes: no usable Kubernetes client configuration"),
        "{stderr}"
    );
}

/// The binary on port 0 (gRPC and admin), writing its addresses to `addr_file`.
fn on_port_0(addr_file: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BINARY);
    command
        .args([
            "--grpc",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--addr-file",
        ])
        .arg(addr_file)
        .kill_on_drop(true);
    command
}
