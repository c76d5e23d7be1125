//! Ctrl-C and SIGTERM, the two ways to ask the launcher to stop, and how start-up gives way to
//! them ([`or_signal`]).

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::error::UpError;

/// Ctrl-C and SIGTERM. Listened to from the very start: Ctrl-C while starting must stop the
/// children too.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    pub fn new() -> Result<Self, UpError> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).map_err(UpError::Runtime)?,
            terminate: signal(SignalKind::terminate()).map_err(UpError::Runtime)?,
        })
    }

    /// Waits for the next one, and names it.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Why start-up ended before the stack was up.
pub enum Halt {
    /// Ctrl-C or SIGTERM, by name.
    Signal(&'static str),
    /// A step failed; where it said so, it said what is being stopped.
    Failed(UpError),
    /// A task ended without a report, which it only does when the launcher is already stopping.
    Quiet,
}

impl From<UpError> for Halt {
    fn from(error: UpError) -> Self {
        Halt::Failed(error)
    }
}

/// Runs one start-up `step`, unless a signal comes first.
pub async fn or_signal<T>(signals: &mut Signals, step: impl Future<Output = T>) -> Result<T, Halt> {
    tokio::select! {
        value = step => Ok(value),
        signal = signals.recv() => Err(Halt::Signal(signal)),
    }
}
