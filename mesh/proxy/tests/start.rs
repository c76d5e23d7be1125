//! The start path `mesh-proxy` and `sailkit proxy` share (`mesh_proxy::start`), through the
//! `mesh-proxy` binary: an address that cannot be bound is exit status 64 naming the flag, and
//! SIGTERM drains the listeners and exits 0; `--control-plane` with no proxy id, or with
//! `--registry`, exits 64.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn an_outbound_address_in_use_exits_64_naming_the_flag() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let registry = dir.path().join("registry.json");
    std::fs::write(&registry, r#"{"services":[]}"#).expect("write registry");
    // Held for the whole test, so the proxy cannot have it.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_addr = taken.local_addr().expect("address");
    let output = Command::new(env!("CARGO_BIN_EXE_mesh-proxy"))
        .arg(format!("--registry={}", registry.display()))
        .arg(format!("--outbound={taken_addr}"))
        .arg("--admin=127.0.0.1:0")
        .output()
        .expect("run mesh-proxy");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{output:?}");
    assert!(
        stderr.contains(&format!(
            "mesh-proxy: --outbound {taken_addr}: cannot listen"
        )),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_binary_with_status_0() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let registry = dir.path().join("registry.json");
    std::fs::write(&registry, r#"{"services":[]}"#).expect("write registry");
    let addr_file = dir.path().join("proxy.addr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesh-proxy"))
        .arg(format!("--registry={}", registry.display()))
        .arg("--outbound=127.0.0.1:0")
        .arg("--admin=127.0.0.1:0")
        .arg(format!("--addr-file={}", addr_file.display()))
        .stdout(Stdio::null())
        .spawn()
        .expect("start mesh-proxy");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !addr_file.exists() {
        assert!(Instant::now() < deadline, "mesh-proxy never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mesh-proxy did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn the_control_plane_as_source_needs_an_id_and_no_files() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mesh-proxy"))
            .args(["--control-plane", "http://127.0.0.1:1"])
            .args(["--outbound=127.0.0.1:0", "--admin=127.0.0.1:0"])
            .args(args)
            .output()
            .expect("run mesh-proxy")
    };
    let no_id = run(&["--labels", "app=reviews"]);
    assert_eq!(no_id.status.code(), Some(64), "{no_id:?}");
    let stderr = String::from_utf8_lossy(&no_id.stderr);
    assert!(
        stderr.contains("mesh-proxy: --control-plane needs --proxy-id ID"),
        "{stderr}"
    );
    let both = run(&["--proxy-id", "reviews-v1", "--registry", "registry.json"]);
    assert_eq!(both.status.code(), Some(64), "{both:?}");
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(
        stderr.contains("'--control-plane <URL>' cannot be used with '--registry <FILE>'"),
        "{stderr}"
    );
}
