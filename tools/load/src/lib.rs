//! `sailkit load`: a small, fast HTTP load generator, in the spirit of fortio's `load`.
//!
//! A library crate of its own, tied to nothing else in the kit: the `sailkit` command parses
//! [`LoadArgs`] as its `load` subcommand and calls [`main`]; everything else is here.
//!
//! Istio's circuit-breaking task drives a service with fortio and reads how many answers were
//! 200 and how many 503; the proxy benchmark measures our sidecar and Envoy with the same
//! generator. So it must cost little CPU, measure latency honestly, and print the same kind of
//! `Code 503 : 3 (15.0 %)` lines. It drives hyper's connection-level client directly: `-c`
//! connections, each one tokio task, on a multi-threaded runtime with `--threads` workers (one
//! per core by default; `--threads 1` runs all on one thread, for a generator pinned to a core).
//!
//! A run, top to bottom (this file's [`main`]): the command line ([`args`]) is checked by clap;
//! [`plan`] reads the body file and resolves the host; [`engine`] runs the connections against
//! one [`schedule`] while [`progress`] prints a line a second; [`report`] prints the result.
//!
//! Exit code: 0 when the run completed and at least one request got an HTTP answer, whatever
//! its status (a 503 is a result, not a failure of the generator); 1 when not one request got
//! an answer (the report still says why: connect refused, timeouts...) or the host does not
//! resolve; 2 for a usage error (clap's, or a body file that cannot be read).
//!
//! Layout:
//! - [`args`]: the flags (clap) and their parsers.
//! - [`duration`]: `10s`, `500ms`, `1m30s`, in and out.
//! - [`plan`]: the checked settings, and the request prepared once.
//! - [`schedule`]: which request is due when; why latency runs from the due time.
//! - [`engine`]: connection tasks and their request loops.
//! - [`connection`]: one hyper connection, HTTP/1.1 or h2c; errors by cause.
//! - [`stats`]: what each connection records (HdrHistogram, status codes, errors).
//! - [`progress`]: the line a second on stderr.
//! - [`report`]: the result, as text and JSON.

pub mod args;
pub mod connection;
pub mod duration;
pub mod engine;
pub mod plan;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod stats;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

pub use self::args::LoadArgs;
use self::plan::Plan;
use self::progress::Live;
use self::report::Report;

/// Exit code when no request got an answer.
const NO_ANSWER: u8 = 1;

/// The whole of `sailkit load`.
pub fn main(args: LoadArgs) -> ExitCode {
    let plan = match Plan::from_args(&args) {
        Ok(plan) => Arc::new(plan),
        Err(error) => {
            eprintln!("sailkit load: {error}");
            return ExitCode::from(error.exit_code());
        }
    };
    let runtime = match runtime(plan.threads) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sailkit load: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let talk = !args.json && !args.quiet;
    if talk {
        println!("{}", Report::start_line(&plan));
    }
    let show_progress = talk && (args.progress || std::io::stderr().is_terminal());
    let outcome = runtime.block_on(async {
        let live = Arc::new(Live::default());
        let progress = show_progress
            .then(|| tokio::spawn(progress::report_every_second(live.clone(), plan.stop)));
        let outcome = engine::run(plan.clone(), live).await;
        if let Some(progress) = progress {
            progress.abort();
        }
        outcome
    });
    let report = Report::new(&plan, &outcome);
    let json = || serde_json::to_string_pretty(&report).unwrap_or_default();
    if let Some(path) = &args.json_file
        && let Err(error) = std::fs::write(path, json() + "\n")
    {
        eprintln!("sailkit load: cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    if args.json {
        println!("{}", json());
    } else {
        print!("{}", report.text());
    }
    if report.answered == 0 {
        eprintln!(
            "sailkit load: no request got an answer from {} ({} errors)",
            plan.url, report.errors
        );
        return ExitCode::from(NO_ANSWER);
    }
    ExitCode::SUCCESS
}

/// One thread runs everything on the current thread: no hand-off between threads, the least
/// CPU per request. More threads spread the connections over that many workers.
fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}
