//! Running the real `sailkit` binary from the tests: a whole stack on OS-chosen ports in a
//! temporary data directory, stopped (SIGTERM) when the test is done with it.
//!
//! - [`browser`]: headless Chromium driven through WebDriver, for `tests/browser.rs`;
//! - [`prometheus`]: a real Prometheus scraping the sidecars, for `tests/e2e_prometheus.rs`.

#![allow(dead_code)] // each test crate uses its own part of this module

pub mod browser;
pub mod prometheus;

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
/// How long a freshly applied config may take to show. Sidecars reload within about half a
/// second; the rest is room for a slow, busy machine and for slow pages (a delayed page takes
/// about 6 s by design).
pub const IN_FORCE_TIMEOUT: Duration = Duration::from_secs(30);

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

    /// `run/stack.json` as it is now (the launcher rewrites it when it restarts a process);
    /// `None` if it cannot be read at this moment.
    pub fn state_now(&self) -> Option<state::Stack> {
        state::read(&self.data_dir().join("run")).ok()
    }

    /// The mesh's workloads, `{"services": [{"name", "endpoints": [{"address", "labels"}]}]}`:
    /// from the control plane's `/config_dump`, or `mesh/registry.json` in a stack without one
    /// (`--no-control-plane`).
    pub fn registry(&self) -> serde_json::Value {
        if let Some(control) = &self.state.control_plane {
            let url = format!("{}/config_dump", control.admin);
            // Its own thread and runtime: the callers are async tests, which must not block
            // their runtime on it.
            let dump = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    http()
                        .get(&url)
                        .send()
                        .await
                        .expect("the control plane answers")
                        .json::<serde_json::Value>()
                        .await
                        .expect("config_dump is JSON")
                })
            })
            .join()
            .expect("config_dump thread");
            return serde_json::json!({ "services": dump["services"] });
        }
        let path = self.data_dir().join("mesh").join("registry.json");
        let text = std::fs::read_to_string(&path).expect("registry.json");
        serde_json::from_str(&text).expect("registry.json is JSON")
    }

    /// What instance `name`'s sidecar wrote so far (its access log among other lines); empty
    /// before it wrote anything.
    pub fn sidecar_log(&self, name: &str) -> String {
        let path = self
            .data_dir()
            .join("logs")
            .join(format!("{name}-sidecar.log"));
        std::fs::read_to_string(&path).unwrap_or_default()
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

/// The instance called `name` in a `stack.json`.
pub fn instance<'s>(state: &'s state::Stack, name: &str) -> &'s state::Instance {
    state
        .instances
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{name} in stack.json: {:?}", state.instances))
}

/// The sidecar of instance `name` in a `stack.json`.
pub fn sidecar(state: &state::Stack, name: &str) -> state::Sidecar {
    instance(state, name)
        .sidecar
        .clone()
        .unwrap_or_else(|| panic!("{name} has a sidecar"))
}

/// One counter of a sidecar's `/stats` (`name value` lines), read through its admin URL.
pub async fn stat(admin: &str, name: &str) -> u64 {
    let stats = http()
        .get(format!("{admin}/stats"))
        .send()
        .await
        .expect("admin answers")
        .text()
        .await
        .expect("stats");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in:\n{stats}"))
}

/// What a sidecar has loaded (its `/config_dump`), read through its admin URL.
pub async fn config_dump(admin: &str) -> serde_json::Value {
    http()
        .get(format!("{admin}/config_dump"))
        .send()
        .await
        .expect("admin answers")
        .json()
        .await
        .expect("config_dump is JSON")
}

/// `sailkit apply --data-dir <data_dir> <files>`, whatever its outcome.
pub fn apply_to(data_dir: &Path, files: &[PathBuf]) -> Output {
    let mut args = vec![
        "apply".to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

/// `sailkit apply` of the scenario files `names` to the stack; fails the test if refused.
pub fn apply(stack: &Stack, names: &[&str]) {
    let files: Vec<PathBuf> = names.iter().map(|n| scenario(n)).collect();
    let applied = apply_to(&stack.data_dir(), &files);
    assert!(applied.status.success(), "apply {names:?}: {applied:?}");
}

/// One product page, as `cookie` (a signed-in user) or anonymously, and how long it took.
/// productpage answers 200 whatever its peers do, so anything else is a failure.
pub async fn fetch(stack: &Stack, cookie: Option<&str>) -> (String, Duration) {
    let mut request = http().get(&stack.state.app_url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let started = Instant::now();
    let response = request.send().await.expect("front door");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("page");
    (page, started.elapsed())
}

/// One product page, as [`fetch`] gets it, without the time.
pub async fn page(stack: &Stack, cookie: Option<&str>) -> String {
    fetch(stack, cookie).await.0
}

/// Fetches pages until one satisfies `seen` (the applied config is in force), and returns it;
/// fails the test after [`IN_FORCE_TIMEOUT`] with the last page.
pub async fn until(
    stack: &Stack,
    cookie: Option<&str>,
    what: &str,
    seen: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + IN_FORCE_TIMEOUT;
    loop {
        let page = page(stack, cookie).await;
        if seen(&page) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what} within {IN_FORCE_TIMEOUT:?}; last page:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ratings shown on a page, as (stars, colour) in page order: empty for reviews v1, black
/// for v2, red for v3. productpage marks each rating with `data-stars="N" data-color="C"`.
pub fn ratings_on(page: &str) -> Vec<(u32, String)> {
    page.split("data-stars=\"")
        .skip(1)
        .filter_map(|rest| {
            let (stars, rest) = rest.split_once('"')?;
            let color = rest.split_once("data-color=\"")?.1.split_once('"')?.0;
            Some((stars.parse().ok()?, color.to_string()))
        })
        .collect()
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

/// `sailkit proxy-status -o json` against the stack.
pub fn proxy_status(stack: &Stack) -> serde_json::Value {
    let data_dir = stack.data_dir().display().to_string();
    let output = run(&["proxy-status", "--data-dir", &data_dir, "-o", "json"]);
    assert!(output.status.success(), "proxy-status: {output:?}");
    serde_json::from_slice(&output.stdout).expect("proxy-status -o json is JSON")
}

/// Waits until every proxy of the stack (8 sidecars and the gateway) is SYNCED.
pub fn until_all_synced(stack: &Stack) -> serde_json::Value {
    let deadline = Instant::now() + IN_FORCE_TIMEOUT;
    loop {
        let status = proxy_status(stack);
        let proxies = status["proxies"].as_array().cloned().unwrap_or_default();
        let synced = proxies.iter().filter(|p| p["status"] == "SYNCED").count();
        if proxies.len() == 9 && synced == 9 {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "not every proxy SYNCED within {IN_FORCE_TIMEOUT:?}: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
