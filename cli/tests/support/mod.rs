//! Running the real `sailkit` binary from the tests: a whole stack on OS-chosen ports in a
//! temporary data directory, stopped (SIGTERM) when the test is done with it.
//!
//! - [`browser`]: headless Chromium driven through WebDriver, for `tests/browser.rs`.

#![allow(dead_code)] // each test crate uses its own part of this module

pub mod browser;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sailkit::up::state;

/// How long a stack may take to be ready. It takes a few seconds; CI machines can be slow.
pub const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a stopping stack may take (the launcher gives each instance 5 s).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `sailkit` binary built for these tests.
pub fn sailkit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sailkit"));
    command.env_remove("RUST_LOG").env("NO_COLOR", "1");
    command
}

/// Runs `sailkit <args>` to completion.
pub fn run(args: &[&str]) -> Output {
    sailkit()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sailkit runs")
}

/// A launcher (`sailkit up --port-base 0`) running in the background.
pub struct Stack {
    pub child: Child,
    /// Holds the data directory (`data/`) and the launcher's output (`launcher.out`).
    pub dir: tempfile::TempDir,
    /// `run/stack.json`, as written when the stack became ready.
    pub state: state::Stack,
}

impl Stack {
    /// Starts a stack and waits until it is ready.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a stack with more options for `sailkit up` (such as `--no-restart`).
    pub fn start_with(options: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = File::create(dir.path().join("launcher.out")).expect("output file");
        let err = out.try_clone().expect("output file");
        let child = sailkit()
            .args(["up", "--port-base", "0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(options)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("sailkit up starts");
        // Until `Self` exists its Drop cannot stop the launcher, so a failure stops it here.
        let mut child = child;
        match wait_ready(&mut child, dir.path()) {
            Ok(state) => Self { child, dir, state },
            Err(message) => {
                signal(child.id(), Signal::SIGTERM);
                let _ = wait_with_timeout(&mut child, STOP_TIMEOUT);
                let _ = child.kill();
                panic!("{message}:\n{}", read_output(dir.path()));
            }
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Everything the launcher printed so far.
    pub fn output(&self) -> String {
        read_output(self.dir.path())
    }

    /// Sends SIGTERM to the launcher and waits for it to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        signal(self.child.id(), Signal::SIGTERM);
        wait_with_timeout(&mut self.child, STOP_TIMEOUT).unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!(
                "sailkit up did not stop within {STOP_TIMEOUT:?} of SIGTERM:\n{}",
                self.output()
            )
        })
    }
}

impl Drop for Stack {
    /// A test that failed half-way still stops its stack.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), Signal::SIGTERM);
            if wait_with_timeout(&mut self.child, STOP_TIMEOUT).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Waits up to `limit` for `child` to exit.
pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Sends `signal` to process `pid`.
pub fn signal(pid: u32, signal: Signal) {
    let pid = i32::try_from(pid).expect("a pid fits in i32");
    let _ = kill(Pid::from_raw(pid), signal);
}

/// Whether process `pid` still exists.
pub fn is_alive(pid: u32) -> bool {
    let pid = i32::try_from(pid).expect("a pid fits in i32");
    kill(Pid::from_raw(pid), None).is_ok()
}

/// Waits up to `limit` for a file to appear, and returns its text.
pub fn wait_for_file(path: &Path, limit: Duration) -> Option<String> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Some(text);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// An HTTP client that never goes through a proxy from the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

fn read_output(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("launcher.out")).unwrap_or_default()
}

/// Waits until `stack.json` exists (the stack is ready) and reads it.
fn wait_ready(child: &mut Child, dir: &Path) -> Result<state::Stack, String> {
    let run_dir = dir.join("data").join("run");
    let started = Instant::now();
    loop {
        if let Ok(stack) = state::read(&run_dir) {
            return Ok(stack);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("sailkit up exited ({status}) before it was ready"));
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!("the stack was not ready within {START_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scenario file of the repository (`k8s/networking/<name>`).
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../k8s/networking")
        .join(name)
}

/// Signs `user` in on the stack's product page (any password works, as in Bookinfo) and returns
/// the session cookie to send with later requests.
pub async fn sign_in(stack: &Stack, user: &str) -> String {
    let login = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}/login", stack.state.front_door))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={user}&passwd={user}"))
        .send()
        .await
        .expect("login");
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(!cookie.is_empty(), "a session cookie: {login:?}");
    cookie
}
