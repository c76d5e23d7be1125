//! The access log lines of one request, found by its trace id in the sidecars' log files.
//!
//! Every sidecar and the gateway write one access log line per request, ending with
//! `"<x-request-id>" "<trace id>"` (see mesh/proxy's `stage/access_log.rs`). `sailkit up` keeps
//! each proxy's output in `<data-dir>/logs/<name>.log` (`reviews-v2-sidecar.log`,
//! `istio-ingressgateway.log`), so the lines of a trace's hops are the lines of those files
//! that contain `"<trace id>"`, quotes included: the quotes keep a longer id, or a request id
//! that happens to contain the digits, from matching.
//!
//! The files only grow, so only their tail is read ([`TAIL_BYTES`] each): a trace on the page
//! is recent, and a large log never makes the page slow. The reading is blocking file I/O:
//! callers run [`find`] on tokio's blocking pool.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How much of the end of each log file is read.
pub const TAIL_BYTES: u64 = 4 * 1024 * 1024;

/// At most this many lines are shown; a trace has one line per hop, so more is a loop.
pub const MAX_LINES: usize = 500;

/// One access log line, and the proxy that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// The file's name without `.log`: the hop (`reviews-v2-sidecar`).
    pub hop: String,
    /// The `[timestamp]` the line starts with, empty when it has none.
    pub time: String,
    pub line: String,
}

/// What was found: the lines in time order, and the files that could not be read.
#[derive(Debug, Default)]
pub struct Found {
    pub lines: Vec<LogLine>,
    pub warnings: Vec<String>,
}

/// The lines of `dir`'s `*.log` files that name `trace_id`, oldest first.
pub fn find(dir: &Path, trace_id: &str) -> Found {
    let mut found = Found::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            found.warnings.push(format!(
                "cannot read the access logs in {}: {error}",
                dir.display()
            ));
            return found;
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    paths.sort();
    let needle = format!("\"{trace_id}\"");
    for path in paths {
        let hop = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        match read_tail(&path) {
            Ok(bytes) => found.lines.extend(matching(&bytes, &needle, &hop)),
            Err(error) => found
                .warnings
                .push(format!("cannot read {}: {error}", path.display())),
        }
    }
    // Stable: lines of one instant keep their file's order.
    found.lines.sort_by(|a, b| a.time.cmp(&b.time));
    found.lines.truncate(MAX_LINES);
    found
}

/// The last [`TAIL_BYTES`] of the file, from the first whole line.
fn read_tail(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((length - start) as usize);
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    if start > 0 {
        // The read began inside a line: drop its end.
        let first_line = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        bytes.drain(..first_line);
    }
    Ok(bytes)
}

/// The lines of `bytes` containing `needle`. A line that is not UTF-8 is shown with `�`
/// where its bad bytes were: a log line is for reading, not for parsing.
fn matching<'a>(
    bytes: &'a [u8],
    needle: &'a str,
    hop: &'a str,
) -> impl Iterator<Item = LogLine> + 'a {
    bytes
        .split(|&b| b == b'\n')
        .filter(move |line| contains(line, needle.as_bytes()))
        .map(move |line| {
            let line = String::from_utf8_lossy(line).trim_end().to_string();
            LogLine {
                hop: hop.to_string(),
                time: timestamp(&line).to_string(),
                line,
            }
        })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// `[2026-11-26T10:00:00.123Z] "GET ...` → `2026-11-26T10:00:00.123Z`. The proxies write RFC
/// 3339 UTC with milliseconds, so these sort as text.
fn timestamp(line: &str) -> &str {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map_or("", |(time, _)| time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quoted_whole_ids_match_and_lines_keep_their_time() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let text = format!(
            "[2026-11-26T10:00:00.200Z] \"GET / HTTP/1.1\" 200 - \"r1\" \"{id}\"\n\
             [2026-11-26T10:00:00.100Z] \"GET / HTTP/1.1\" 200 - \"r2\" \"{id}00\"\n\
             INFO a log line naming {id} without quotes\n"
        );
        let lines: Vec<_> = matching(text.as_bytes(), &format!("\"{id}\""), "hop").collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].time, "2026-11-26T10:00:00.200Z");
        assert_eq!(lines[0].hop, "hop");
    }

    #[test]
    fn a_line_without_a_timestamp_has_none() {
        assert_eq!(timestamp("no [time] here"), "");
        assert_eq!(timestamp("[t] x"), "t");
    }
}
