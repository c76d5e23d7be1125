//! The supervisor: how the launcher keeps one child process alive, whatever the child is (an
//! instance, a sidecar, the ingress gateway). This is the kubelet's loop, in five verbs:
//!
//! 1. **start** the process and **wait until it is ready**; tell the launcher how it went
//!    (what it needs to know on success, an [`UpError`] it can print on failure);
//! 2. **watch** it. If it exits while the stack is up, that is a crash: the child says so in its
//!    own words ([`Supervised::crashed`]);
//! 3. **restart** it, unless `--no-restart`, after a back-off that doubles with each failed
//!    attempt (1 s, 2 s, 4 s, ... up to 30 s), as Kubernetes does; a child that ran for
//!    [`STABLE_AFTER`] before crashing starts again from 1 s;
//! 4. **stop** it when the launcher stops ([`Supervised::stop`]: SIGTERM, then SIGKILL after
//!    [`STOP_GRACE`]).
//!
//! [`supervise`] is that loop, written once. What differs from one kind of child to another
//! (how it is started and found ready, what a crash takes away, what the messages say) is the
//! [`Supervised`] trait, implemented by `instance.rs` and `sidecar.rs`.

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::error::UpError;
use super::instance::Shared;
use super::process::ChildProcess;

mod failed;
pub use failed::{Failed, wait_for_addresses};

/// How long a child may take to become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping child may take to finish its requests before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// A child that ran this long before crashing starts its back-off from the beginning.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What [`supervise`] needs from one kind of child.
pub trait Supervised {
    /// What a start gives, and a restart reuses: the addresses the child listens on.
    type Up;
    /// What the launcher learns when the first start went well.
    type Report;

    /// Spawns the process and waits until it is ready. `previous` is what the first start gave,
    /// when this is a restart.
    async fn start(
        &mut self,
        previous: Option<&Self::Up>,
        shutdown: &CancellationToken,
    ) -> Result<(ChildProcess, Self::Up), Failed>;

    /// The first start went well: says so, and makes the launcher's report.
    fn first_ready(&mut self, child: &ChildProcess, up: &Self::Up) -> Self::Report;

    /// The first start failed: the error the launcher prints.
    fn start_error(&self, failed: Failed) -> UpError;

    /// The child exited while the stack was up: says so, and takes it out of service.
    async fn crashed(&mut self, child: &mut ChildProcess, status: ExitStatus);

    /// With `--no-restart`: what stays broken.
    fn stays_stopped(&self) -> String;

    /// Before waiting `backoff` to restart it.
    fn restarting(&self, backoff: Duration, up: &Self::Up) -> String;

    /// A restart failed (it is tried again after the next back-off): says why, if `start` did
    /// not already.
    fn restart_failed(&self, failed: &Failed, up: &Self::Up);

    /// A restart went well: puts the child back in service, and says so.
    async fn back(&mut self, child: &ChildProcess, up: &Self::Up);

    /// Stops the running child (the launcher is stopping).
    async fn stop(&mut self, child: &mut ChildProcess);

    /// Removes what the child leaves behind (its address file); runs on every way out.
    fn cleanup(&self);
}

/// Runs `child` until `shutdown`: started, watched, restarted, stopped. The first start's
/// result goes to `started`; if the child cannot start, the task reports it there and ends.
pub async fn supervise<S: Supervised>(
    mut child: S,
    shared: Arc<Shared>,
    started: oneshot::Sender<Result<S::Report, UpError>>,
    shutdown: CancellationToken,
) {
    // 1. Start and wait until ready.
    let (mut process, up) = match child.start(None, &shutdown).await {
        Ok(running) => running,
        Err(Failed::Shutdown) => return child.cleanup(),
        Err(failed) => {
            let _ = started.send(Err(child.start_error(failed)));
            return child.cleanup();
        }
    };
    let _ = started.send(Ok(child.first_ready(&process, &up)));

    // 2. Watch, and 3. restart after a crash.
    let mut backoff = FIRST_BACKOFF;
    loop {
        let running_since = Instant::now();
        let status = tokio::select! {
            status = process.wait() => status,
            () = shutdown.cancelled() => break,
        };
        child.crashed(&mut process, status).await;
        if !shared.restart {
            shared.console.alarm(&child.stays_stopped());
            shutdown.cancelled().await;
            return child.cleanup();
        }
        if running_since.elapsed() > STABLE_AFTER {
            backoff = FIRST_BACKOFF;
        }
        // Restart until it is ready again, waiting longer after each failure.
        loop {
            shared.console.say(&child.restarting(backoff, &up));
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = shutdown.cancelled() => return child.cleanup(),
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            match child.start(Some(&up), &shutdown).await {
                Ok((restarted, _)) => {
                    process = restarted;
                    break;
                }
                Err(Failed::Shutdown) => return child.cleanup(),
                Err(failed) => child.restart_failed(&failed, &up),
            }
        }
        child.back(&process, &up).await;
    }

    // 4. Stop (the launcher is stopping).
    child.stop(&mut process).await;
    child.cleanup();
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::up::console::Console;
    use crate::up::logs::LogSink;
    use crate::up::ports::PortPlan;
    use crate::up::process;
    use crate::up::state::StateFile;

    /// A child that is `sh -c SCRIPT`: the scripts in `starts` in turn, one per start, each
    /// ready at once. It writes down every call the supervisor makes.
    struct Scripted {
        starts: Vec<&'static str>,
        calls: Arc<Mutex<Vec<String>>>,
    }

    impl Scripted {
        fn log(&self, call: impl Into<String>) {
            self.calls.lock().expect("calls").push(call.into());
        }
    }

    impl Supervised for Scripted {
        type Up = u32;
        type Report = u32;

        async fn start(
            &mut self,
            previous: Option<&u32>,
            _: &CancellationToken,
        ) -> Result<(ChildProcess, u32), Failed> {
            self.log(format!("start again: {}", previous.is_some()));
            if self.starts.is_empty() {
                return Err(Failed::TimedOut("no script left".into()));
            }
            let script = self.starts.remove(0);
            let sink = LogSink {
                prefix: "test | ".into(),
                color: false,
                file: None,
                tail: Arc::default(),
            };
            let args = ["-c".to_string(), script.to_string()];
            let child = process::spawn_args(Path::new("/bin/sh"), &args, &[], &sink)
                .map_err(Failed::Spawn)?;
            let pid = child.pid();
            Ok((child, pid))
        }

        fn first_ready(&mut self, _: &ChildProcess, pid: &u32) -> u32 {
            self.log("first ready");
            *pid
        }

        fn start_error(&self, failed: Failed) -> UpError {
            self.log("start error");
            match failed {
                Failed::TimedOut(last_error) => UpError::NotHealthy {
                    instance: "scripted".into(),
                    seconds: 0,
                    last_error,
                },
                _ => UpError::ExitedDuringStart {
                    instance: "scripted".into(),
                    status: "other".into(),
                },
            }
        }

        async fn crashed(&mut self, _: &mut ChildProcess, status: ExitStatus) {
            self.log(format!("crashed: {:?}", status.code()));
        }

        fn stays_stopped(&self) -> String {
            self.log("stays stopped");
            String::new()
        }

        fn restarting(&self, backoff: Duration, _: &u32) -> String {
            self.log(format!("restarting in {} s", backoff.as_secs()));
            String::new()
        }

        fn restart_failed(&self, _: &Failed, _: &u32) {
            self.log("restart failed");
        }

        async fn back(&mut self, _: &ChildProcess, _: &u32) {
            self.log("back");
        }

        async fn stop(&mut self, child: &mut ChildProcess) {
            let _ = child.stop(STOP_GRACE).await;
            self.log("stop");
        }

        fn cleanup(&self) {
            self.log("cleanup");
        }
    }

    fn shared(restart: bool, run_dir: &Path) -> Arc<Shared> {
        Arc::new(Shared {
            exe: "/bin/sh".into(),
            console: Console::detect(8),
            state: Arc::new(StateFile::new(run_dir)),
            ports: PortPlan::new(0, 1).expect("ports"),
            restart,
            probe: reqwest::Client::new(),
            otlp: None,
        })
    }

    /// Supervises `starts` until `until` has been logged, then stops it; returns the calls.
    async fn run(starts: Vec<&'static str>, restart: bool, until: &str) -> Vec<String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let child = Scripted {
            starts,
            calls: calls.clone(),
        };
        let (started, report) = oneshot::channel();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(supervise(
            child,
            shared(restart, dir.path()),
            started,
            shutdown.clone(),
        ));
        let _ = report.await;
        let wait = async {
            while !calls.lock().expect("calls").iter().any(|c| c == until) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("the supervisor got there");
        shutdown.cancel();
        task.await.expect("supervisor task");
        calls.lock().expect("calls").clone()
    }

    #[tokio::test]
    async fn a_crashed_child_is_restarted_after_the_first_back_off_then_stopped_once() {
        let calls = run(vec!["exit 3", "sleep 30"], true, "back").await;
        assert_eq!(
            calls,
            [
                "start again: false",
                "first ready",
                "crashed: Some(3)",
                "restarting in 1 s",
                "start again: true",
                "back",
                "stop",
                "cleanup",
            ]
        );
    }

    #[tokio::test]
    async fn with_no_restart_a_crashed_child_stays_down_and_is_cleaned_up_once() {
        let calls = run(vec!["exit 3", "sleep 30"], false, "stays stopped").await;
        assert_eq!(
            calls,
            [
                "start again: false",
                "first ready",
                "crashed: Some(3)",
                "stays stopped",
                "cleanup",
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_first_start_is_reported_to_the_launcher_and_ends_the_task() {
        let dir = tempfile::tempdir().expect("tempdir");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let child = Scripted {
            starts: Vec::new(),
            calls: calls.clone(),
        };
        let (started, report) = oneshot::channel();
        supervise(
            child,
            shared(true, dir.path()),
            started,
            CancellationToken::new(),
        )
        .await;
        let error = report.await.expect("a report").expect_err("a failure");
        assert!(error.to_string().contains("no script left"), "{error}");
        assert_eq!(
            *calls.lock().expect("calls"),
            ["start again: false", "start error", "cleanup"]
        );
    }
}
