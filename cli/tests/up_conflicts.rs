//! What `sailkit up` says when it cannot run: another launcher on the same data directory, or a
//! port taken by another program. Both must be a clear message and a non-zero exit, never a
//! panic.

mod support;

use std::net::TcpListener;

use support::{Stack, run};

#[test]
fn a_second_launcher_on_the_same_data_directory_is_refused() {
    let mut first = Stack::start();
    let data_dir = first.data_dir().display().to_string();

    let second = run(&["up", "--port-base", "0", "--data-dir", &data_dir]);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        message.contains("sailkit is already running from this data directory"),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", first.state.launcher_pid)),
        "{message}"
    );
    assert!(message.contains(&first.state.front_door), "{message}");
    assert!(message.contains("--data-dir"), "{message}");
    assert!(!message.contains("panicked"), "{message}");

    // The refused launcher changed nothing: the first one still runs, and stops cleanly.
    let status = first.terminate();
    assert!(status.success(), "{status}\n{}", first.output());
}

#[test]
fn a_taken_port_names_the_port_and_the_service_that_wanted_it() {
    // Some other program holds a port; a stack based there wants it for its front door.
    let other_program = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = other_program.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");

    let output = run(&[
        "up",
        "--port-base",
        &port.to_string(),
        "--data-dir",
        &dir.path().display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains(&format!("port {port}")), "{message}");
    assert!(message.contains("productpage"), "{message}");
    assert!(message.contains("--port-base"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    // Nothing was left running, and the lock was released.
    assert!(!dir.path().join("run/lock").exists());
}

#[test]
fn an_instance_that_cannot_start_stops_the_others_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    // productpage refuses a session secret shorter than 32 bytes and exits with 64.
    let output = support::sailkit()
        .args(["up", "--port-base", "0", "--data-dir"])
        .arg(dir.path())
        .env("SESSION_SECRET", "too short")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sailkit runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("productpage-v1 exited during start-up (exit code 64)"),
        "{stderr}"
    );
    // Its last lines are shown, so the reason is on the screen.
    assert!(stdout.contains("last lines of productpage-v1"), "{stdout}");
    assert!(stdout.contains("SESSION_SECRET"), "{stdout}");
    assert!(!dir.path().join("run/lock").exists());
    assert!(!dir.path().join("run/stack.json").exists());
}
