//! A real headless Chromium for the browser tests, driven through WebDriver.
//!
//! WebDriver is the W3C protocol that test tools use to drive a browser: a small server (the
//! *driver*, here `chromedriver`) starts the browser and turns HTTP requests ("open this URL",
//! "find this element", "click it") into actions on it. The tests talk to it with the
//! `fantoccini` crate. What runs is the real thing: Chromium's HTML parser, its forms, its
//! cookies and its JavaScript, against the real stack.
//!
//! [`Browser::start`] starts `chromedriver --port=0` (the system picks a free port, which the
//! driver prints) and opens a session with headless Chromium, which keeps its profile and
//! temporary files in a folder of its own, removed at the end.
//! Chromium does not stop when its driver does, so both run in a process group of their own,
//! under a small shell that waits on a pipe from this process: when the pipe closes, the shell
//! stops the whole group. The pipe closes when the [`Browser`] is dropped, even when a test
//! fails half-way, and also when the test process dies without unwinding.
//!
//! Where `chromium` or `chromedriver` is not installed, [`Browser::start`] returns `None` and
//! the test skips with a message; with `CI` or `SAILKIT_REQUIRE_BROWSER` set it fails instead,
//! so CI cannot pass without running the browser tests.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;

/// How long to wait for the driver to start, a page to load or an element to appear. Generous:
/// a loaded CI machine can be slow, and a wait returns as soon as its condition holds.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How often a condition is checked again while waiting for it.
const POLL: Duration = Duration::from_millis(100);

/// Chromium's flags: no display (`--headless=new` is the full browser without a window), no
/// sandbox (it needs privileges a container or CI runner may not grant), no GPU, `/tmp` instead
/// of the small `/dev/shm` of containers, a desktop-sized window, and no proxy from the
/// environment (the stack is on loopback).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
    "--no-proxy-server",
];

/// A Chromium session. It derefs to fantoccini's [`Client`] for everything not wrapped here.
pub struct Browser {
    client: Client,
    /// Dropped after `client`: stops the driver and Chromium.
    _driver: Driver,
    /// Chromium's profile (`--user-data-dir`) and `TMPDIR`, removed last.
    _home: tempfile::TempDir,
}

impl std::ops::Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// Starts chromedriver and headless Chromium; `None` (after a message) when they are not
    /// installed and not required.
    pub async fn start() -> Option<Self> {
        let (chromium, chromedriver) = match (find("chromium"), find("chromedriver")) {
            (Some(chromium), Some(chromedriver)) => (chromium, chromedriver),
            _ => {
                let reason = "chromium and chromedriver must both be on PATH \
                              (Debian packages `chromium` and `chromium-driver`)";
                if required() {
                    panic!(
                        "the browser tests are required (CI or SAILKIT_REQUIRE_BROWSER): {reason}"
                    );
                }
                eprintln!("skipping browser test: {reason}");
                return None;
            }
        };
        let home = tempfile::tempdir().expect("a folder for Chromium");
        let driver = Driver::start(&chromedriver, home.path());
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            home.path().join("profile").display()
        ));
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no Chromium session from {}: {e}\n{}",
                    driver.url,
                    driver.output()
                )
            });
        Some(Self {
            client,
            _driver: driver,
            _home: home,
        })
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Waits for the first element matching the CSS selector `css`.
    pub async fn element(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(TIMEOUT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => self.fail(&format!("no element `{css}`: {e}")).await,
        }
    }

    /// Every element matching `css` right now (possibly none).
    pub async fn elements(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find_all `{css}`: {e}"))
    }

    /// The visible text of the first element matching `css`, once there is one.
    pub async fn text(&self, css: &str) -> String {
        let element = self.element(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of `{css}`: {e}"))
    }

    /// Clicks the first element matching `css`, once there is one.
    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        if let Err(e) = element.click().await {
            self.fail(&format!("cannot click `{css}`: {e}")).await;
        }
    }

    /// Replaces the value of the form field matching `css` with `value`, as a person typing.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.element(css).await;
        if let Err(e) = field.clear().await {
            self.fail(&format!("cannot clear `{css}`: {e}")).await;
        }
        if let Err(e) = field.send_keys(value).await {
            self.fail(&format!("cannot type into `{css}`: {e}")).await;
        }
    }

    /// Sets a field's value directly, for inputs whose typing rules depend on the browser's
    /// locale (`<input type="date">`, `datetime-local`, `<select>`): the value is the one the
    /// form submits, and an `input` and a `change` event are sent as typing would.
    pub async fn set_value(&self, css: &str, value: &str) {
        let field = self.element(css).await;
        let script = "const [field, value] = arguments; field.value = value; \
                      field.dispatchEvent(new Event('input', {bubbles: true})); \
                      field.dispatchEvent(new Event('change', {bubbles: true})); \
                      return field.value;";
        let set = self
            .client
            .execute(script, vec![json!(field), json!(value)])
            .await
            .unwrap_or_else(|e| panic!("cannot set `{css}`: {e}"));
        assert_eq!(set, json!(value), "`{css}` refused the value {value:?}");
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn script(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script `{script}` failed: {e}"))
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .unwrap_or_else(|e| panic!("current URL: {e}"))
    }

    /// The page's HTML as the browser holds it now.
    pub async fn html(&self) -> String {
        self.client
            .source()
            .await
            .unwrap_or_else(|e| panic!("page source: {e}"))
    }

    /// Waits until `check` (run against the browser) returns `Some`, and returns that.
    /// `what` names the condition for the failure message.
    pub async fn until<T, F>(&self, what: &str, mut check: F) -> T
    where
        F: AsyncFnMut(&Browser) -> Option<T>,
    {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(value) = check(self).await {
                return value;
            }
            if Instant::now() > deadline {
                self.fail(&format!("timed out waiting until {what}")).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a screenshot of the window as `<repository>/test-artifacts/<name>.png` and returns
    /// its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).expect("create test-artifacts/");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Ends the session (Chromium quits). Dropping the `Browser` also stops everything, more
    /// bluntly; this is the polite way at the end of a test.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Fails the test with `message`, the page's address and a screenshot to look at.
    async fn fail(&self, message: &str) -> ! {
        let url = self.client.current_url().await.map(|u| u.to_string());
        let shot = match self.client.screenshot().await {
            Ok(png) => {
                let dir = artifacts_dir();
                let path = dir.join("browser-failure.png");
                match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, png)) {
                    Ok(()) => format!("screenshot: {}", path.display()),
                    Err(e) => format!("no screenshot: {e}"),
                }
            }
            Err(e) => format!("no screenshot: {e}"),
        };
        let html = self.client.source().await.unwrap_or_default();
        panic!("{message}\nat {url:?} ({shot})\n{html}");
    }
}

/// `<repository>/test-artifacts/`, which git ignores: screenshots for a person to look at.
pub fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is inside the repository")
        .join("test-artifacts")
}

/// chromedriver (and the Chromium it starts), in a process group led by a watchdog shell.
struct Driver {
    /// The shell: it starts chromedriver, then waits for its stdin to close and stops the
    /// group. Its pid is the group's id.
    watchdog: Child,
    /// Our end of the watchdog's stdin; dropping it is the signal to stop.
    pipe: Option<ChildStdin>,
    /// `http://127.0.0.1:<port>`, where the driver listens.
    url: String,
    /// What the driver printed, for failure messages.
    log: Arc<Mutex<String>>,
}

/// The watchdog: `$0` is chromedriver. Its stdin is /dev/null (a background job's is, in a
/// non-interactive shell), so only the shell reads the pipe. `kill 0` signals the whole
/// process group: the driver, every Chromium process, and the shell itself.
const WATCHDOG: &str = r#""$0" "$@" &
read -r _
kill -TERM 0"#;

impl Driver {
    /// Starts the driver, with `tmp` as the temporary folder of the driver and the browser.
    /// Given port 0, chromedriver picks a port for IPv4 and then binds the same number for
    /// IPv6 too; when another process holds that one, it exits with "Address already in use".
    /// A new start picks another port, so a clash is retried a few times.
    fn start(chromedriver: &Path, tmp: &Path) -> Self {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::start_once(chromedriver, tmp) {
                Ok(driver) => return driver,
                Err(output) if output.contains("Address already in use") => last = output,
                Err(output) => {
                    panic!("chromedriver did not say its port within {TIMEOUT:?}:\n{output}")
                }
            }
        }
        panic!("chromedriver found no free port in three starts:\n{last}")
    }

    /// One start; `Err` with what the driver printed when it announced no port.
    fn start_once(chromedriver: &Path, tmp: &Path) -> Result<Self, String> {
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg(chromedriver)
            // Port 0: the system picks a free port and the driver prints which.
            .args(["--port=0", "--log-level=WARNING"])
            // A new process group, whose id is the shell's pid.
            .process_group(0)
            .env("TMPDIR", tmp)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let pipe = watchdog.stdin.take();
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = mpsc::channel();
        // The driver's output is read to the end (a full pipe would block it); the line that
        // announces the port is passed on.
        if let Some(stdout) = watchdog.stdout.take() {
            collect(stdout, log.clone(), Some(port_tx));
        }
        if let Some(stderr) = watchdog.stderr.take() {
            collect(stderr, log.clone(), None);
        }
        let mut driver = Self {
            watchdog,
            pipe,
            url: String::new(),
            log,
        };
        // The watchdog shell keeps the pipes open after the driver exits, so an early exit is
        // seen in what the driver printed, not as the end of its output.
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(port) = port_rx.recv_timeout(Duration::from_millis(200)) {
                driver.url = format!("http://127.0.0.1:{port}");
                return Ok(driver);
            }
            if driver.output().contains("Exiting") {
                break;
            }
        }
        // Dropping the driver stops what is left of it.
        Err(driver.output())
    }

    fn output(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }
}

impl Drop for Driver {
    /// Closing the pipe tells the watchdog to stop the group; if it has not within a few
    /// seconds, the group is killed.
    fn drop(&mut self) {
        drop(self.pipe.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.watchdog.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(group) = i32::try_from(self.watchdog.id()) {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
        let _ = self.watchdog.wait();
    }
}

/// Reads `from` line by line on a thread, into `log`; sends the port of the line
/// "ChromeDriver was started successfully on port N." to `port`.
fn collect(
    from: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    port: Option<mpsc::Sender<u16>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = &port
                && let Some(number) = line
                    .split_once("started successfully on port ")
                    .and_then(|(_, rest)| rest.trim_end_matches('.').trim().parse().ok())
            {
                let _ = port.send(number);
            }
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
}

/// The path of `program` on `PATH`, if it is there.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn required() -> bool {
    ["CI", "SAILKIT_REQUIRE_BROWSER"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"))
}
