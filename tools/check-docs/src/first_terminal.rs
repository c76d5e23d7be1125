//! The first terminal: the app (`cargo run`, `cargo run -- up --no-mesh`) running in the
//! background while the second terminal's commands run, as a reader has it.
//!
//! It runs in a process group of its own, so "Ctrl-C" is what a terminal does: SIGINT to the
//! whole group. The check looks for a block's lines in what it printed after the lines the
//! previous block matched, waiting for them to come.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;

use crate::matching::{self, Expected};
use crate::output::Collected;
use crate::pattern::{Bindings, normalise};

/// How long a stopped app has to end after Ctrl-C before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

pub struct FirstTerminal {
    child: Child,
    output: Collected,
    /// Lines already matched by earlier blocks; the next block looks after them.
    consumed: usize,
    root: String,
}

/// Why a block's lines were not found in the first terminal.
pub struct NotFound {
    pub reason: String,
    pub diff: String,
}

impl FirstTerminal {
    /// Starts `command` with `bash -c` in `dir`, in a process group of its own.
    pub fn start(command: &str, dir: &Path, env: &[(&str, &str)], root: &str) -> Result<Self> {
        let (output, writer) = Collected::pipe().context("cannot make a pipe for the app")?;
        let mut process = Command::new("bash");
        process
            .args(["--noprofile", "--norc", "-c", command])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(writer.try_clone().context("cannot share the pipe")?)
            .stderr(writer)
            .process_group(0);
        for (name, value) in env {
            process.env(name, value);
        }
        let child = process
            .spawn()
            .with_context(|| format!("cannot start `{command}`"))?;
        Ok(Self {
            child,
            output,
            consumed: 0,
            root: root.to_string(),
        })
    }

    /// The lines printed after the consumed ones (a last line without its newline included).
    fn fresh_lines(&self) -> Vec<String> {
        let text = self.output.text();
        text.lines()
            .skip(self.consumed)
            .map(|line| normalise(line, &self.root))
            .collect()
    }

    /// Waits up to `timeout` for `expected` to appear; on success the lines up to the last one
    /// matched are consumed and the bindings returned.
    pub fn wait_for(
        &mut self,
        expected: &[Expected],
        bindings: &Bindings,
        any_order: bool,
        timeout: Duration,
    ) -> Result<Bindings, NotFound> {
        let start = Instant::now();
        loop {
            let exited = self.child.try_wait().ok().flatten();
            let lines = self.fresh_lines();
            let missing = match matching::within(expected, &lines, bindings, any_order) {
                Ok((found, end)) => {
                    self.consumed += end;
                    return Ok(found);
                }
                Err(missing) => missing,
            };
            let reason = match exited {
                Some(status) => Some(format!(
                    "the app ended ({status}) without printing `{missing}`"
                )),
                None if start.elapsed() > timeout => Some(format!(
                    "`{missing}` was not printed within {} s",
                    timeout.as_secs()
                )),
                None => None,
            };
            if let Some(reason) = reason {
                return Err(NotFound {
                    reason,
                    diff: matching::diff(expected, &lines),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Presses Ctrl-C (SIGINT to the group) and waits for the app to end; kills it after
    /// [`STOP_GRACE`]. Returns whether it ended by itself.
    pub fn ctrl_c(&mut self) -> bool {
        if self.child.try_wait().ok().flatten().is_some() {
            return true;
        }
        let group = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(group, Signal::SIGINT);
        let start = Instant::now();
        while start.elapsed() < STOP_GRACE {
            if self.child.try_wait().ok().flatten().is_some() {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
        false
    }

    /// Everything the app printed, for a failure report.
    pub fn transcript(&self) -> String {
        self.output.text()
    }
}

impl Drop for FirstTerminal {
    fn drop(&mut self) {
        self.ctrl_c();
    }
}
