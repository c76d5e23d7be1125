//! Starting and stopping one instance process.
//!
//! An instance is this very executable, started as `sailkit serve <service> <port>` with the
//! environment from [`plan`](super::plan). Three details make a child well-behaved:
//! - **its own process group**, so that Ctrl-C in the terminal reaches only the launcher, which
//!   then stops the children in order (instead of everything dying at once, mid-request);
//! - **stdin is a pipe the launcher holds**: with `SAILKIT_EXIT_ON_STDIN_EOF=1` the child stops
//!   when it closes, which happens even if the launcher is killed with no chance to clean up;
//! - **stopping is polite first**: SIGTERM (the service finishes the requests in flight, as it
//!   would in Kubernetes), then SIGKILL if it has not exited within the grace period.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;

use super::logs::{self, LogSink};
use crate::services::ServiceName;

/// A running instance process.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    pid: u32,
    /// Never written to: holding it open is the message "the launcher is still here".
    _stdin: Option<ChildStdin>,
    pumps: Vec<JoinHandle<()>>,
}

/// How a stop went.
#[derive(Debug)]
pub enum Stopped {
    /// It exited by itself within the grace period (normally with status 0).
    Exited(ExitStatus),
    /// It had to be killed.
    Killed,
}

/// Starts `exe serve <service> <port>` with `env`, its output going to `sink`.
pub fn spawn(
    exe: &Path,
    service: ServiceName,
    port: u16,
    env: &[(String, String)],
    sink: &LogSink,
) -> std::io::Result<ChildProcess> {
    let args = [
        "serve".to_string(),
        service.as_str().to_string(),
        port.to_string(),
    ];
    spawn_args(exe, &args, env, sink)
}

/// Starts `exe <args>` with `env`, its output going to `sink`: an instance, or a sidecar
/// (`sailkit proxy ...`).
pub fn spawn_args(
    exe: &Path,
    args: &[String],
    env: &[(String, String)],
    sink: &LogSink,
) -> std::io::Result<ChildProcess> {
    let mut command = Command::new(exe);
    command
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        // A safety net: if the launcher's task holding the child ever goes away, so does it.
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or_default();
    let mut pumps = Vec::with_capacity(2);
    if let Some(out) = child.stdout.take() {
        pumps.push(logs::pump(out, sink.clone()));
    }
    if let Some(err) = child.stderr.take() {
        pumps.push(logs::pump(err, sink.clone()));
    }
    Ok(ChildProcess {
        _stdin: child.stdin.take(),
        child,
        pid,
        pumps,
    })
}

impl ChildProcess {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the process to exit. Cancel-safe, so it can sit in a `select!`.
    pub async fn wait(&mut self) -> ExitStatus {
        match self.child.wait().await {
            Ok(status) => status,
            // Only possible if the process was already reaped, which nothing else here does.
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(0),
        }
    }

    /// Waits (briefly) until the pumps have copied everything the process wrote, so that its
    /// last lines are in the tail before anyone reads it.
    pub async fn drain_output(&mut self) {
        for pump in self.pumps.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(1), pump).await;
        }
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    pub async fn stop(&mut self, grace: Duration) -> Stopped {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Stopped::Exited(status);
        }
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ = signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => Stopped::Exited(status),
            _ => {
                let _ = self.child.kill().await;
                Stopped::Killed
            }
        }
    }
}

/// "exit code 1", "killed by SIGSEGV": how a process ended, in words.
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        format!("exit code {code}")
    } else if let Some(number) = status.signal() {
        match Signal::try_from(number) {
            Ok(signal) => format!("killed by {signal}"),
            Err(_) => format!("killed by signal {number}"),
        }
    } else {
        status.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_statuses_read_as_words() {
        assert_eq!(describe(ExitStatus::from_raw(1 << 8)), "exit code 1");
        assert_eq!(describe(ExitStatus::from_raw(11)), "killed by SIGSEGV");
    }
}
