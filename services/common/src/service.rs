//! What every service binary does, written once.
//!
//! A service crate implements [`Service`]: its name, how it reads its [`Config`](Service::Config)
//! from the environment, and how it runs on a listener until shutdown. Its `main.rs` is then one
//! line, `common::service::main::<MyService>()`, and the `sailkit serve <name>` command runs the
//! very same code through [`start`]. Every service reads its `Config` the same way, with
//! `Config::from_env` and an `ENV_HELP` text for `--help`: that part of the impl is written once,
//! as [`config_from_env!`](crate::config_from_env).
//!
//! The order of start-up, and the exit codes:
//! 1. command line (`[PORT]`, `--bind`, `--help`): Bookinfo passes the port as the first argument;
//! 2. telemetry;
//! 3. config from the environment, the connection limits included (`server::limits_from_env`);
//!    a bad variable exits with 64 (`EX_USAGE`) and names it;
//! 4. raise the open-file limit to the hard one (each connection is a file descriptor);
//! 5. bind the listener; a port in use exits with 69 (`EX_UNAVAILABLE`);
//! 6. run until Ctrl-C / SIGTERM, finishing requests in flight; an error while running exits 1.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser};
use tokio::net::TcpListener;

use crate::env::{self, ConfigError, Env, ProcessEnv};
use crate::server;
use crate::shutdown::{self, Shutdown};
use crate::telemetry;

/// Exit code for bad configuration (BSD `EX_USAGE`).
pub const EXIT_BAD_CONFIG: u8 = 64;
/// Exit code when the listener cannot be bound (BSD `EX_UNAVAILABLE`).
pub const EXIT_CANNOT_BIND: u8 = 69;

/// When set, the service writes the address it listens on to this file once bound. The launcher
/// uses it to start services on port 0 and learn which port each one got.
pub const ADDR_FILE: &str = "SAILKIT_ADDR_FILE";

/// A deployable service.
pub trait Service {
    /// The name shared by the crate, the binary, the image and the `app` label.
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// The environment variables the service reads, for `--help`.
    const ENV_HELP: &'static str;

    /// Everything the service needs to run, read once at start.
    type Config: Send + 'static;

    /// Reads the configuration; the error names the variable at fault.
    fn config(env: &dyn Env) -> Result<Self::Config, ConfigError>;

    /// Serves on `listener` until `shutdown` is triggered.
    fn run(
        listener: TcpListener,
        config: Self::Config,
        shutdown: Shutdown,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The part of `impl Service` that every service writes the same way: its `Config` type, read
/// by `Config::from_env`, and the `ENV_HELP` text that lists its variables. Used inside the impl
/// block, next to what differs (`NAME`, `ABOUT`, `run`); `tests` below compiles and runs one:
///
/// ```text
/// impl common::Service for Details {
///     const NAME: &'static str = "details";
///     const ABOUT: &'static str = "Bookinfo details service";
///     common::config_from_env!(Config, config::ENV_HELP);
///
///     async fn run(listener: TcpListener, config: Config, shutdown: common::Shutdown)
///         -> anyhow::Result<()> { /* ... */ }
/// }
/// ```
#[macro_export]
macro_rules! config_from_env {
    ($config:ty, $env_help:expr) => {
        const ENV_HELP: &'static str = $env_help;
        type Config = $config;

        fn config(env: &dyn $crate::Env) -> ::std::result::Result<$config, $crate::ConfigError> {
            <$config>::from_env(env)
        }
    };
}

/// Where a service listens: the command-line arguments every service binary accepts.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Port to listen on (as in Bookinfo, the first argument).
    #[arg(default_value_t = 9080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, env = "BIND_ADDRESS", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub bind: IpAddr,
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
}

/// The whole `main` of a service binary.
pub fn main<S: Service>() -> ExitCode {
    let command = Cli::command()
        .name(S::NAME)
        .bin_name(S::NAME)
        .about(S::ABOUT)
        .after_help(S::ENV_HELP)
        .version(env!("CARGO_PKG_VERSION"));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    block_on(S::NAME, start::<S>(cli.listen))
}

/// Runs a service's start-up future on a new runtime and returns its exit code. Shared by the
/// service binaries and `sailkit serve`.
pub fn block_on(name: &str, service: impl Future<Output = ExitCode>) -> ExitCode {
    shutdown::exit_when_orphaned();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(service);
    // The stdin watcher (`SAILKIT_EXIT_ON_STDIN_EOF`) may still sit in a blocking read of a
    // pipe the launcher keeps open; dropping the runtime would wait for it forever.
    runtime.shutdown_background();
    code
}

/// Starts the service inside an existing runtime: telemetry, config, bind, run.
pub async fn start<S: Service>(listen: ListenArgs) -> ExitCode {
    telemetry::init();
    let config = match S::config(&ProcessEnv) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{}: {e}", S::NAME);
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    match server::limits_from_env(&ProcessEnv) {
        Ok(limits) => server::set_limits(limits),
        Err(e) => {
            eprintln!("{}: {e}", S::NAME);
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    }
    // Each connection is a file descriptor: take all the hard limit allows.
    if let Err(error) = listener::raise_file_limit() {
        tracing::warn!(%error, "cannot raise the open-file limit");
    }
    let addr = SocketAddr::new(listen.bind, listen.port);
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: cannot listen on {addr}: {e}", S::NAME);
            return ExitCode::from(EXIT_CANNOT_BIND);
        }
    };
    if let Err(e) = announce_address(&listener) {
        eprintln!("{}: cannot write {ADDR_FILE}: {e}", S::NAME);
        return ExitCode::FAILURE;
    }

    let shutdown = Shutdown::new();
    let watch_stdin = env::flag(&ProcessEnv, shutdown::EXIT_ON_STDIN_EOF, false).unwrap_or(false);
    shutdown::trigger_on_signals(shutdown.clone(), watch_stdin);

    tracing::info!(
        service = S::NAME,
        version = env!("CARGO_PKG_VERSION"),
        "starting"
    );
    match S::run(listener, config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "{} failed", S::NAME);
            ExitCode::FAILURE
        }
    }
}

/// Writes the bound address to `$SAILKIT_ADDR_FILE`, if set. Written to a temporary file and
/// renamed, so a reader never sees half an address.
fn announce_address(listener: &TcpListener) -> std::io::Result<()> {
    let Some(path) = ProcessEnv.get(ADDR_FILE) else {
        return Ok(());
    };
    let addr = listener.local_addr()?;
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, addr.to_string())?;
    std::fs::rename(&tmp, &path)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A configuration of one variable, read the way every service reads its own.
    #[derive(Debug)]
    struct DemoConfig {
        greeting: String,
    }

    impl DemoConfig {
        fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
            match env.get("GREETING") {
                Some(greeting) if greeting == "shout" => {
                    Err(ConfigError::new("GREETING", &greeting, "too loud"))
                }
                Some(greeting) => Ok(Self { greeting }),
                None => Ok(Self {
                    greeting: "hello".to_string(),
                }),
            }
        }
    }

    struct Demo;

    impl Service for Demo {
        const NAME: &'static str = "demo";
        const ABOUT: &'static str = "a service for this test";
        crate::config_from_env!(DemoConfig, "  GREETING   what to say");

        async fn run(_: TcpListener, _: DemoConfig, _: Shutdown) -> anyhow::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn config_from_env_reads_through_the_config_types_from_env() {
        let env = HashMap::from([("GREETING", "ahoy")]);
        let config = Demo::config(&env).expect("a valid greeting");
        assert_eq!(config.greeting, "ahoy");
        let defaults = Demo::config(&HashMap::<&str, &str>::new()).expect("defaults are valid");
        assert_eq!(defaults.greeting, "hello");
        let error = Demo::config(&HashMap::from([("GREETING", "shout")])).expect_err("refused");
        assert_eq!(error.name, "GREETING");
        assert_eq!(Demo::ENV_HELP, "  GREETING   what to say");
    }
}
