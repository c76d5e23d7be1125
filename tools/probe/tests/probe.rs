//! The probe binary against real servers on 127.0.0.1, port 0: its exit code is what Docker's
//! HEALTHCHECK reads.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::get;

/// A server answering `/health` with `status`; returns its base URL.
async fn server(status: StatusCode) -> String {
    let app = axum::Router::new().route("/health", get(move || async move { status }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// Runs the probe off the runtime's threads; returns its exit code and stderr.
async fn probe(args: &[&str]) -> (i32, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sailkit-probe"))
            .args(&args)
            .output()
            .expect("the probe runs")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().expect("an exit code"), stderr)
}

#[tokio::test]
async fn a_2xx_answer_is_healthy_and_anything_else_is_not() {
    let healthy = server(StatusCode::OK).await;
    assert_eq!(probe(&[&format!("{healthy}/health")]).await.0, 0);
    let local = healthy.replace("127.0.0.1", "localhost");
    assert_eq!(probe(&[&format!("{local}/health")]).await.0, 0);
    let (code, stderr) = probe(&[&format!("{healthy}/missing")]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("404"), "{stderr}");
    let failing = server(StatusCode::SERVICE_UNAVAILABLE).await;
    let (code, stderr) = probe(&[&format!("{failing}/health")]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("503"), "{stderr}");
}

#[tokio::test]
async fn a_server_that_never_answers_fails_within_the_timeout() {
    // Accepts connections (the kernel does) but never reads them.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/health", silent.local_addr().expect("address"));
    let started = Instant::now();
    let (code, stderr) = probe(&[&url, "300"]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("no answer within"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn bad_arguments_are_usage_errors_and_names_are_refused() {
    assert_eq!(probe(&[]).await.0, 2);
    assert_eq!(probe(&["http://127.0.0.1:1/", "soon"]).await.0, 2);
    let (code, stderr) = probe(&["http://details:9080/health"]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("not an IP address"), "{stderr}");
}
