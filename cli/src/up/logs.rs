//! The instances' output: shown with a prefix, kept in a log file, remembered for a while.
//!
//! Each instance's stdout and stderr are pipes read by a small task (a "pump") per pipe. Every
//! line goes three ways:
//! - to the launcher's standard output, after the instance's prefix (`reviews-v2   | ...`);
//! - to `<data-dir>/logs/<instance>.log`, appended, so it outlives the launcher;
//! - to a short [`Tail`] of the last lines, shown when the instance dies, because the reason is
//!   usually in the last thing it said.
//!
//! The services colour their logs; the colour codes are kept for a terminal and stripped
//! everywhere else (log files, pipes).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

use super::console;

/// How many lines a [`Tail`] keeps.
const TAIL_LINES: usize = 20;

/// The last lines an instance wrote.
#[derive(Debug, Default)]
pub struct Tail {
    lines: Mutex<VecDeque<String>>,
}

impl Tail {
    fn push(&self, line: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line.to_string());
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect()
    }
}

/// Where an instance's lines go: shared by its two pumps and by its successive processes.
#[derive(Debug, Clone)]
pub struct LogSink {
    /// The coloured (or not) `name | ` prefix.
    pub prefix: Arc<str>,
    /// Keep colour codes on the launcher's output (it is a terminal).
    pub color: bool,
    pub file: Option<Arc<File>>,
    pub tail: Arc<Tail>,
}

impl LogSink {
    /// Writes a line of the launcher's own into the log file (start, exit, restart), so that
    /// the file tells the whole story.
    pub fn note(&self, line: &str) {
        if let Some(mut file) = self.file.as_deref() {
            let _ = writeln!(file, "--- sailkit: {line}");
        }
    }

    fn line(&self, raw: &str) {
        let plain = strip_ansi(raw);
        let shown = if self.color { raw } else { &plain };
        console::write_line(&format!("{}{shown}", self.prefix));
        if let Some(mut file) = self.file.as_deref() {
            let _ = writeln!(file, "{plain}");
        }
        self.tail.push(&plain);
    }
}

/// Starts a pump that copies `reader` to `sink` line by line, until the pipe closes.
pub fn pump<R>(reader: R, sink: LogSink) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::with_capacity(256);
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    sink.line(text.trim_end_matches(['\n', '\r']));
                }
            }
        }
    })
}

/// `text` without ANSI colour and style sequences (`ESC [ ... letter`).
pub fn strip_ansi(text: &str) -> Cow<'_, str> {
    if !text.contains('\x1b') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip the introducer and everything up to the final letter of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_stripped() {
        assert_eq!(
            strip_ansi("\x1b[2m2026-01-01\x1b[0m \x1b[32m INFO\x1b[0m listening"),
            "2026-01-01  INFO listening"
        );
        assert!(matches!(strip_ansi("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn the_tail_keeps_the_last_lines() {
        let tail = Tail::default();
        for i in 0..30 {
            tail.push(&i.to_string());
        }
        let lines = tail.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines.first().map(String::as_str), Some("10"));
        assert_eq!(lines.last().map(String::as_str), Some("29"));
    }

    #[tokio::test]
    async fn a_pump_copies_lines_to_the_file_and_the_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.log");
        let sink = LogSink {
            prefix: Arc::from("x | "),
            color: false,
            file: Some(Arc::new(File::create(&path).expect("create"))),
            tail: Arc::default(),
        };
        let input: &[u8] = b"one\n\x1b[31mtwo\x1b[0m\nthree without newline";
        pump(input, sink.clone())
            .await
            .expect("pump ends at end of input");
        assert_eq!(sink.tail.lines(), ["one", "two", "three without newline"]);
        let file = std::fs::read_to_string(&path).expect("read");
        assert_eq!(file, "one\ntwo\nthree without newline\n");
    }
}
