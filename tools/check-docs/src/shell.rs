//! The second terminal: one `bash` that runs the doc's commands one after the other, so what a
//! command defines (`stars() { ... }`, `export GATEWAY_URL=...`) is there for the next.
//!
//! After each command the session prints a marker line with the exit status; the output is
//! everything before it. stdout and stderr share one pipe, as they share a terminal.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::output::Collected;

/// A running `bash` reading commands from us.
pub struct Shell {
    child: Child,
    stdin: ChildStdin,
    output: Collected,
    commands_run: u64,
}

/// What one command printed, and how it ended.
#[derive(Debug)]
pub struct Ran {
    pub output: String,
    pub status: i32,
}

impl Shell {
    /// A fresh `bash` (no profile or rc files) in `dir`, with the environment of `env`.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let (output, writer) = Collected::pipe().context("cannot make a pipe for the shell")?;
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(writer.try_clone().context("cannot share the pipe")?)
            .stderr(writer);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().context("cannot start bash")?;
        let stdin = child.stdin.take().context("bash has no stdin")?;
        Ok(Self {
            child,
            stdin,
            output: output.clone(),
            commands_run: 0,
        })
    }

    /// Runs `command` (one or more lines) and waits up to `timeout` for it to finish.
    pub fn run(&mut self, command: &str, timeout: Duration) -> Result<Ran> {
        self.commands_run += 1;
        let marker = format!(
            "__check_docs_{}_{}__",
            std::process::id(),
            self.commands_run
        );
        self.output.take_text();
        let script = format!("{command}\nprintf '\\n%s %s\\n' '{marker}' \"$?\"\n");
        self.stdin
            .write_all(script.as_bytes())
            .and_then(|()| self.stdin.flush())
            .context("the shell is gone")?;
        let start = Instant::now();
        let needle = format!("\n{marker} ");
        loop {
            let text = self.output.text();
            if let Some(at) = text.find(&needle) {
                let status = text[at + needle.len()..]
                    .lines()
                    .next()
                    .and_then(|s| s.trim().parse().ok());
                if let Some(status) = status {
                    self.output.take_text();
                    return Ok(Ran {
                        output: text[..at].to_string(),
                        status,
                    });
                }
            }
            if let Some(exit) = self.child.try_wait().context("cannot wait for bash")? {
                bail!("the shell ended ({exit}) while running the command; it printed:\n{text}");
            }
            if start.elapsed() > timeout {
                bail!(
                    "the command did not finish in {} s; it printed so far:\n{text}",
                    timeout.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
