//! Why `sailkit up` could not start or keep the stack running.
//!
//! Every message says what went wrong in the launcher's terms (which port, which service, which
//! instance) and, where there is one, what to do about it. `main` prints it and exits with 1.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "sailkit is already running from this data directory ({owner}). Stop it with Ctrl-C in \
         its terminal, or run a second stack beside it with --data-dir DIR --port-base PORT \
         (a data directory and ports of its own)."
    )]
    AlreadyRunning {
        /// "pid 1234, front door http://127.0.0.1:9080", as much as the lock file tells.
        owner: String,
    },

    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("--port-base {base} is too high: the instances would need ports up to {highest}")]
    PortBaseTooHigh { base: u16, highest: u32 },

    #[error(
        "port {port} is already in use by another program; {wanted_by} needs it. Stop that \
         program, or move the whole stack with --port-base{}.",
        suggest(*suggestion)
    )]
    PortInUse {
        port: u16,
        wanted_by: String,
        suggestion: u16,
    },

    #[error("cannot listen on {addr} for {wanted_by}: {source}")]
    Bind {
        addr: SocketAddr,
        wanted_by: String,
        source: std::io::Error,
    },

    #[error("cannot find the sailkit executable to start the services from: {0}")]
    CurrentExe(std::io::Error),

    #[error("cannot start {instance}: {source}")]
    Spawn {
        instance: String,
        source: std::io::Error,
    },

    #[error("{instance} exited during start-up ({status}); its last lines are above")]
    ExitedDuringStart { instance: String, status: String },

    #[error("{instance} did not become healthy within {seconds} s: {last_error}")]
    NotHealthy {
        instance: String,
        seconds: u64,
        last_error: String,
    },

    #[error("cannot write {path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot start the async runtime or listen for signals: {0}")]
    Runtime(std::io::Error),
}

fn suggest(base: u16) -> String {
    if base == 0 {
        " (--port-base 0 lets the system choose free ports)".to_string()
    } else {
        format!(" (for example --port-base {base}, or --port-base 0 to let the system choose)")
    }
}
