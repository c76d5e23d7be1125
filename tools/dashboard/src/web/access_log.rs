//! The "Access log lines" section of `/traces/{id}`: the lines of the trace's hops from the
//! sidecars' log files (`--access-logs`), or, without them, the command that finds them.

use std::path::PathBuf;
use std::sync::Arc;

use crate::logs::{self, LogLine};

/// What the trace page shows under its waterfall.
pub struct AccessLogSection {
    /// Whether a log directory was given; without one the page says where to look instead.
    pub configured: bool,
    pub lines: Vec<LogLine>,
    pub warnings: Vec<String>,
}

/// Reads the lines of `trace_id` from `dir` on the blocking pool (file reads would hold up the
/// runtime's threads).
pub async fn section(dir: Option<Arc<PathBuf>>, trace_id: &str) -> AccessLogSection {
    let Some(dir) = dir else {
        return AccessLogSection {
            configured: false,
            lines: Vec::new(),
            warnings: Vec::new(),
        };
    };
    let id = trace_id.to_string();
    match tokio::task::spawn_blocking(move || logs::find(&dir, &id)).await {
        Ok(found) => AccessLogSection {
            configured: true,
            lines: found.lines,
            warnings: found.warnings,
        },
        Err(error) => AccessLogSection {
            configured: true,
            lines: Vec::new(),
            warnings: vec![format!("the access logs could not be read: {error}")],
        },
    }
}
