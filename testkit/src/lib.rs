//! Test helpers shared by the sailkit crates.
//!
//! - [`serve`]: start an axum router on `127.0.0.1:0`, the way every API test does, and get its
//!   base URL back. Tests never use fixed ports, so they can all run at once.
//! - [`env`]: a service's configuration read from a few variables, as its unit tests need.
//! - [`postgres`]: a throwaway PostgreSQL cluster started by the tests themselves, with a fresh
//!   database per test.
//! - [`otlp`]: a real OTLP gRPC trace receiver, which keeps the spans services export to it.

pub mod env;
pub mod otlp;
pub mod postgres;

use std::net::SocketAddr;

use axum::Router;
use common::Shutdown;
use tokio::net::TcpListener;

/// A server started for one test. Dropping it stops the server.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Shutdown,
}

impl TestServer {
    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Binds `127.0.0.1:0` and serves `app` there in the background.
pub async fn serve(app: Router) -> TestServer {
    let listener = listener().await;
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let shutdown = Shutdown::new();
    let token = shutdown.clone();
    tokio::spawn(async move { common::server::serve(listener, app, token).await });
    TestServer { addr, shutdown }
}

/// A listener on `127.0.0.1:0`, for tests that call a service's own `run`.
pub async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0 always works")
}

/// A service started by its own `run`, which the test stops and waits for: to check what the
/// service does on its way out (the spans it flushes after the drain).
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Starts `run` on `127.0.0.1:0`.
    pub async fn start<F, Fut>(run: F) -> Self
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let listener = listener().await;
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shutdown = Shutdown::new();
        let task = tokio::spawn(run(listener, shutdown.clone()));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the service and waits until `run` has returned, which must be within 10 s and
    /// without an error.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("the service stops within 10 s")
            .expect("the service task does not panic");
        if let Err(e) = stopped {
            panic!("service under test failed: {e:#}");
        }
    }
}

/// Like [`serve`], for a service's `run(listener, config, shutdown)` function.
pub async fn run_service<F, Fut>(run: F) -> TestServer
where
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let Running {
        addr,
        shutdown,
        task,
    } = Running::start(run).await;
    tokio::spawn(async move {
        if let Ok(Err(e)) = task.await {
            panic!("service under test failed: {e:#}");
        }
    });
    TestServer { addr, shutdown }
}
