//! `sailkit status`: is a stack running from this data directory, and what is it made of?
//!
//! It only reads what a launcher leaves in `<data-dir>/run/`: the lock tells whether a launcher
//! is alive (the operating system releases it when the process ends, however it ends), and
//! `stack.json` what it started. Each instance's pid is checked with signal 0, which asks "does
//! this process exist?" without disturbing it.
//!
//! Exit code: 0 when a launcher is running (ready or still starting), 3 when none is (the LSB
//! convention for "not running"), 1 when the files cannot be read.

use std::process::ExitCode;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::cli::StatusArgs;
use crate::up::console::Console;
use crate::up::{RUN_DIR, lock, state, table};

/// Exit code when no launcher is running.
const NOT_RUNNING: u8 = 3;

pub fn main(args: StatusArgs) -> ExitCode {
    let data_dir = std::path::absolute(&args.data_dir.data_dir)
        .unwrap_or_else(|_| args.data_dir.data_dir.clone());
    let run_dir = data_dir.join(RUN_DIR);
    let owner = match lock::holder(&run_dir) {
        Ok(owner) => owner,
        Err(error) => {
            eprintln!("sailkit: cannot read {}: {error}", run_dir.display());
            return ExitCode::FAILURE;
        }
    };
    let Some(owner) = owner else {
        println!("sailkit is not running from {}.", data_dir.display());
        if let Ok(stack) = state::read(&run_dir) {
            println!(
                "(run/stack.json was left by pid {}, which did not stop cleanly; the next \
                 `sailkit up` replaces it.)",
                stack.launcher_pid
            );
        }
        return ExitCode::from(NOT_RUNNING);
    };
    match state::read(&run_dir) {
        Ok(stack) => {
            println!("sailkit is running from {} ({owner}).", data_dir.display());
            let width = stack.instances.iter().map(|i| i.name.len()).max();
            let console = Console::detect(width.unwrap_or(0));
            let text = table::render(&stack, &console, |instance| match instance.pid {
                Some(pid) if is_alive(pid) => format!("pid {pid}, running"),
                Some(pid) => format!("pid {pid}, gone"),
                None => "down, restarting".to_string(),
            });
            println!("{text}");
        }
        Err(_) => println!(
            "sailkit is starting from {} ({owner}); it is not ready yet.",
            data_dir.display()
        ),
    }
    ExitCode::SUCCESS
}

/// Whether process `pid` exists ("signal 0" is sent to nobody; only the check is made).
fn is_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // EPERM: it exists, it is only someone else's.
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        assert!(is_alive(std::process::id()));
        assert!(!is_alive(u32::MAX));
    }
}
