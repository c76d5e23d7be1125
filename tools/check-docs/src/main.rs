//! `check-docs`: runs the README's and the walkthrough's console blocks and compares their
//! output with the text. `scripts/check-docs.sh` is the usual way in; docs/checked-docs.md
//! explains the rules.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use check_docs::docs;
use check_docs::runner::{DocResult, Terminals};
use clap::Parser;

/// Runs the console blocks of the README and the walkthrough chapters, in order, on a fresh
/// data directory, and compares what they print with what the text shows.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Docs to check (default: README.md and walkthrough 01-03). A chapter brings the chapters
    /// before it, whose state it starts from.
    files: Vec<PathBuf>,
    /// Go on after a block that differs, to see every difference in one run.
    #[arg(long)]
    keep_going: bool,
    /// Seconds to wait for lines in the first terminal, unless a block says otherwise.
    #[arg(long, default_value_t = 120)]
    wait: u64,
    /// The checkout to run in.
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("check-docs: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)` when every doc printed what it shows.
fn run(args: &Args) -> anyhow::Result<bool> {
    let started = Instant::now();
    let groups = docs::select(&args.files)?;
    docs::require_fresh(&args.root, &groups)?;
    let before = docs::changed_files(&args.root)?;
    eprintln!("check-docs: building the app first (cargo build)");
    docs::build(&args.root)?;
    let mut all_ok = true;
    let mut commands = Vec::new();
    let outcome = run_groups(args, &groups, &mut all_ok, &mut commands);
    let restored = docs::restore_changed(&args.root, &before, &commands)?;
    if !restored.is_empty() {
        eprintln!(
            "check-docs: put back what the docs edited: {}",
            restored.join(", ")
        );
    }
    outcome?;
    let verdict = if all_ok {
        "every block printed what the docs show"
    } else {
        "differences found"
    };
    eprintln!(
        "check-docs: {verdict} ({:.0} s in all)",
        started.elapsed().as_secs_f64()
    );
    Ok(all_ok)
}

fn run_groups(
    args: &Args,
    groups: &[Vec<&str>],
    all_ok: &mut bool,
    commands: &mut Vec<String>,
) -> anyhow::Result<()> {
    let wait = Duration::from_secs(args.wait);
    for group in groups {
        let mut terminals = Terminals::new(&args.root, wait)?;
        for doc in group {
            eprintln!("==> {doc}");
            let result = terminals.run_doc(&args.root.join(doc), doc, args.keep_going);
            commands.append(&mut terminals.commands_run);
            let result = result?;
            report(doc, &result);
            if !result.mismatches.is_empty() {
                *all_ok = false;
                if !args.keep_going {
                    if let Some(transcript) = terminals.first_transcript() {
                        let tail: Vec<&str> = transcript.lines().rev().take(40).collect();
                        eprintln!("--- the first terminal's last lines:");
                        for line in tail.iter().rev() {
                            eprintln!("    {line}");
                        }
                    }
                    eprintln!(
                        "check-docs: what the docs made (data/, docker/.env) is kept for a look; \
                         remove it before the next run"
                    );
                    return Ok(());
                }
            }
        }
        drop(terminals);
        docs::remove_made(&args.root, group)?;
    }
    Ok(())
}

fn report(doc: &str, result: &DocResult) {
    for mismatch in &result.mismatches {
        eprintln!("\n{}: {}", mismatch.location, mismatch.reason);
        eprintln!("  ran: {}", mismatch.what.replace('\n', "\n       "));
        if !mismatch.diff.is_empty() {
            eprintln!("{}", mismatch.diff);
        }
    }
    let status = if result.mismatches.is_empty() {
        "ok"
    } else {
        "DIFFERS"
    };
    eprintln!(
        "{doc}: {status}: {} commands, {} waits on the first terminal, {} blocks skipped, {:.1} s",
        result.commands,
        result.waits,
        result.skipped,
        result.elapsed.as_secs_f64()
    );
}
