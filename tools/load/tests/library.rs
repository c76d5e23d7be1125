//! The load generator used as a library, the way `sailkit load` uses it: flags parsed by clap
//! into `LoadArgs`, then plan, engine and report, against a real server on 127.0.0.1:0.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use clap::Parser;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sailkit_load::LoadArgs;
use sailkit_load::engine;
use sailkit_load::plan::Plan;
use sailkit_load::progress::Live;
use sailkit_load::report::Report;
use tokio::net::TcpListener;

/// A command line whose only arguments are `sailkit load`'s.
#[derive(Parser)]
struct Command {
    #[command(flatten)]
    load: LoadArgs,
}

/// An HTTP/1.1 server that counts requests and answers 503 to every second one.
async fn counting_server() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let answer = service_fn(move |_: Request<Incoming>| {
                    let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                    let status = if n.is_multiple_of(2) {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    };
                    let mut response = Response::new(Full::new(Bytes::from_static(b"hi")));
                    *response.status_mut() = status;
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), answer)
                    .await;
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_run_through_the_library_sends_exactly_n_requests_and_counts_each_status() {
    let (url, count) = counting_server().await;
    let command = Command::try_parse_from(["load", "-n", "10", "-c", "2", url.as_str()])
        .expect("valid flags");
    let plan = Arc::new(Plan::from_args(&command.load).expect("a plan"));

    let outcome = engine::run(plan.clone(), Arc::new(Live::default())).await;
    let report = Report::new(&plan, &outcome);

    assert_eq!(
        count.load(Ordering::SeqCst),
        10,
        "the server saw every request"
    );
    assert_eq!(report.requests, 10);
    assert_eq!(report.answered, 10);
    assert_eq!(report.errors, 0);
    assert_eq!(report.status_codes.get(&200), Some(&5));
    assert_eq!(report.status_codes.get(&503), Some(&5));
    assert!(
        report.text().contains("Code 503 : 5 (50.0 %)"),
        "{}",
        report.text()
    );
}
