//! Serving an axum router on a listener until shutdown.
//!
//! The caller binds the listener, which is what lets tests bind `127.0.0.1:0` and read the
//! port back, exactly as the binaries bind their configured port.
//!
//! Connections are served by the shared `listener` crate (the mesh proxy and the launcher's
//! VIPs use it too), not by `axum::serve`, which has no timeouts and no cap: a client that
//! connected and sent nothing would hold its connection, and a file descriptor, forever. Each
//! connection gets:
//! - a request-head timeout and an idle keep-alive timeout, and the listener a cap on
//!   connections at once ([`Limits`], from `SAILKIT_HEADER_TIMEOUT_MS`,
//!   `SAILKIT_IDLE_TIMEOUT_MS` and `SAILKIT_MAX_CONNECTIONS`, read once at start);
//! - `TCP_NODELAY`: without it, the kernel holds back a small write while an earlier one is
//!   unacknowledged (Nagle's algorithm), and a caller that multiplexes several HTTP/2 streams on
//!   one connection (a sidecar's pooled connection) waits about a millisecond per answer for
//!   the delayed acknowledgement;
//! - its peer address in each request (axum's `ConnectInfo<SocketAddr>`), for handlers that need
//!   to know who is calling, such as banner's limit on wrong passwords per address.
//!
//! Every request is served with a collector of the failed hops its peer calls come back with,
//! which its response then carries as headers (`failed_hops::pass_on`).
//!
//! [`serve_traced`] is what the services run: the same, with a handler span around each request
//! ([`span`]) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and the last spans flushed once the
//! requests in flight are done.

pub mod span;

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tower::util::Either;
use tower::{Layer as _, ServiceExt as _};

pub use listener::Limits;

use crate::Shutdown;
use crate::env::{self, ConfigError, Env};
use crate::telemetry::{Telemetry, TracingConfig};

/// The longest a client may take over a request head, in milliseconds.
pub const HEADER_TIMEOUT_MS: &str = "SAILKIT_HEADER_TIMEOUT_MS";
/// The longest a keep-alive connection may wait for its next request, in milliseconds.
pub const IDLE_TIMEOUT_MS: &str = "SAILKIT_IDLE_TIMEOUT_MS";
/// Connections served at once; the next ones are answered 503 and closed.
pub const MAX_CONNECTIONS: &str = "SAILKIT_MAX_CONNECTIONS";

/// The limits [`serve`] applies, set once at start by [`set_limits`] (`service::start` does,
/// from the environment). A router served by a test without them gets the defaults.
static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Reads the connection limits from the environment; a bad value names its variable.
pub fn limits_from_env(env: &dyn Env) -> Result<Limits, ConfigError> {
    let defaults = Limits::default();
    let millis = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
        let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        match env::parse::<u64>(env, name, default)? {
            0 => Err(ConfigError::new(name, "0", "must be at least 1")),
            ms => Ok(Duration::from_millis(ms)),
        }
    };
    let max_connections = match env::parse::<u32>(env, MAX_CONNECTIONS, defaults.max_connections)? {
        0 => return Err(ConfigError::new(MAX_CONNECTIONS, "0", "must be at least 1")),
        n => n,
    };
    Ok(Limits {
        head_timeout: millis(HEADER_TIMEOUT_MS, defaults.head_timeout)?,
        idle_timeout: millis(IDLE_TIMEOUT_MS, defaults.idle_timeout)?,
        max_connections,
    })
}

/// Makes `limits` the ones every later [`serve`] applies. Only the first call counts.
pub fn set_limits(limits: Limits) {
    let _ = LIMITS.set(limits);
}

/// Serves `app` on `listener` until `shutdown` is triggered, then waits for the requests in
/// flight to finish; with the limits given to [`set_limits`], or the defaults.
pub async fn serve(listener: TcpListener, app: Router, shutdown: Shutdown) -> io::Result<()> {
    let limits = LIMITS.get().copied().unwrap_or_default();
    serve_with(listener, app, limits, shutdown).await
}

/// [`serve`], with the limits given here.
pub async fn serve_with(
    tcp: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: Shutdown,
) -> io::Result<()> {
    serve_inner(tcp, app, limits, &Telemetry::off(), shutdown).await
}

/// [`serve`], tracing as `tracing` says (see `telemetry`): each request in a handler span,
/// exported by this instance, and the spans flushed after the drain. An endpoint the exporter
/// cannot use is an error before anything is served.
pub async fn serve_traced(
    listener: TcpListener,
    app: Router,
    tracing: &TracingConfig,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let telemetry = Telemetry::start(tracing).map_err(|error| {
        anyhow::anyhow!(
            "cannot export spans to {:?}: {error}",
            tracing.otlp_endpoint
        )
    })?;
    let limits = LIMITS.get().copied().unwrap_or_default();
    serve_inner(listener, app, limits, &telemetry, shutdown).await?;
    telemetry.flush().await;
    Ok(())
}

async fn serve_inner(
    tcp: TcpListener,
    app: Router,
    limits: Limits,
    telemetry: &Telemetry,
    shutdown: Shutdown,
) -> io::Result<()> {
    let addr = tcp.local_addr()?;
    tracing::info!(%addr, "listening");
    let app = app.layer(axum::middleware::from_fn(crate::failed_hops::pass_on));
    let app = match telemetry.dispatch() {
        // Tracing off: no handler span, as cheap as before tracing existed.
        None => Either::Left(app),
        Some(dispatch) => Either::Right(span::HandlerSpanLayer::new(dispatch.clone()).layer(app)),
    };
    listener::serve(tcp, limits, shutdown, move |peer| {
        let app = app.clone();
        service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        })
    })
    .await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn limits(vars: &[(&str, &str)]) -> Result<Limits, ConfigError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        limits_from_env(&env)
    }

    #[test]
    fn the_limits_default_and_come_from_the_environment() {
        assert_eq!(limits(&[]).expect("defaults"), Limits::default());
        let set = limits(&[
            (HEADER_TIMEOUT_MS, "300"),
            (IDLE_TIMEOUT_MS, "600"),
            (MAX_CONNECTIONS, "2"),
        ])
        .expect("valid");
        assert_eq!(set.head_timeout, Duration::from_millis(300));
        assert_eq!(set.idle_timeout, Duration::from_millis(600));
        assert_eq!(set.max_connections, 2);
    }

    #[test]
    fn a_bad_limit_names_its_variable() {
        for name in [HEADER_TIMEOUT_MS, IDLE_TIMEOUT_MS, MAX_CONNECTIONS] {
            for bad in ["0", "-1", "soon"] {
                let error = limits(&[(name, bad)]).expect_err(bad);
                assert_eq!(error.name, name, "{bad}");
            }
        }
    }
}
