//! Where access log lines go: a memory buffer, written to standard output in chunks.
//!
//! Writing each line as it is made would cost one `write` system call per request, which on a
//! busy proxy is a large share of all its work. Envoy buffers its access log and flushes it
//! about once a second; here lines wait at most [`FLUSH_INTERVAL`], or until [`FLUSH_AT`] bytes
//! are waiting, whichever comes first. A crash can lose the last few lines; a clean stop
//! ([`LogBuffer::flush`] at shutdown) loses none.
//!
//! The buffer is behind a mutex, but the lock is held only to copy one line in (or to swap the
//! buffer out for writing), so requests never wait on the output itself.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// The longest a line waits in memory.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Write out as soon as this many bytes are waiting.
pub const FLUSH_AT: usize = 32 * 1024;

/// Where lines go (`--access-log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Destination {
    /// Standard output, one line per request (the default).
    Stdout,
    /// No access log (the `/stats` counters are still kept).
    Off,
}

/// Access log lines waiting to be written.
#[derive(Debug)]
pub struct LogBuffer {
    destination: Destination,
    waiting: Mutex<Vec<u8>>,
}

impl LogBuffer {
    pub fn new(destination: Destination) -> Self {
        Self {
            destination,
            waiting: Mutex::new(Vec::with_capacity(FLUSH_AT * 2)),
        }
    }

    /// Is anything written at all? Callers skip formatting the line when not.
    pub fn enabled(&self) -> bool {
        self.destination != Destination::Off
    }

    /// Add one line; `write_line` appends it (without the newline) to the buffer it is given.
    pub fn push(&self, write_line: impl FnOnce(&mut Vec<u8>)) {
        if !self.enabled() {
            return;
        }
        let full = {
            let Ok(mut waiting) = self.waiting.lock() else {
                return;
            };
            write_line(&mut waiting);
            waiting.push(b'\n');
            waiting.len() >= FLUSH_AT
        };
        if full {
            self.flush();
        }
    }

    /// Write out whatever is waiting. The lock is released before the write.
    pub fn flush(&self) {
        let chunk = {
            let Ok(mut waiting) = self.waiting.lock() else {
                return;
            };
            if waiting.is_empty() {
                return;
            }
            std::mem::replace(&mut *waiting, Vec::with_capacity(FLUSH_AT * 2))
        };
        // A closed or full standard output must not stop the proxy: the line is lost, the
        // request is not.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&chunk).and_then(|()| out.flush());
    }

    /// Flush every [`FLUSH_INTERVAL`] until `shutdown`, then one last time.
    pub async fn run_flusher(&self, shutdown: CancellationToken) {
        if !self.enabled() {
            return;
        }
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => self.flush(),
            }
        }
        self.flush();
    }
}
