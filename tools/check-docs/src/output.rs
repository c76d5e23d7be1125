//! What a process prints, collected as it comes: one pipe for its stdout and stderr (a terminal
//! shows both, interleaved), drained by a thread so the process never blocks on a full pipe.

use std::io::{PipeReader, PipeWriter, Read};
use std::sync::{Arc, Mutex};
use std::thread;

/// The bytes a process has printed so far, shared with the thread that reads them.
#[derive(Clone, Default)]
pub struct Collected {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Collected {
    /// A pipe whose reading end is drained into a new `Collected`; give the writer (twice, as
    /// stdout and stderr) to the child.
    pub fn pipe() -> std::io::Result<(Self, PipeWriter)> {
        let (reader, writer) = std::io::pipe()?;
        let collected = Self::default();
        collected.drain(reader);
        Ok((collected, writer))
    }

    fn drain(&self, mut reader: PipeReader) {
        let bytes = Arc::clone(&self.bytes);
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => bytes
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .extend_from_slice(&chunk[..read]),
                }
            }
        });
    }

    /// Everything printed so far, as text (invalid UTF-8 shown as U+FFFD).
    pub fn text(&self) -> String {
        let bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Everything printed so far, then forgets it.
    pub fn take_text(&self) -> String {
        let mut bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        let taken = std::mem::take(&mut *bytes);
        String::from_utf8_lossy(&taken).into_owned()
    }
}
