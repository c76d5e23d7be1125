//! What `sailkit analyze` prints: a line a finding in istioctl's shape, `<Level> [<code>]
//! (<resource> <file:line:col>) <message>`, then a summary; or the same as JSON.

use std::fmt::Write as _;

use mesh_config::Severity;
use mesh_config::validate::Finding;
use serde_json::{Value, json};

/// What the findings were found in.
pub struct Run<'a> {
    pub files: usize,
    pub resources: usize,
    /// How many workloads were checked against, and where they came from; or why none were.
    pub workloads: Result<(usize, &'a str), &'a String>,
}

/// `Error`, `Warning`, `Info`, as istioctl writes levels.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "Error",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

/// One line a finding, then the summary.
pub fn log(findings: &[Finding], run: &Run<'_>) -> String {
    let mut out = String::new();
    for finding in findings {
        let d = &finding.diagnostic;
        let _ = write!(out, "{}", level(d.severity));
        if let Some(code) = finding.code {
            let _ = write!(out, " [{code}]");
        }
        let _ = write!(out, " (");
        if let Some(resource) = &finding.resource {
            let _ = write!(out, "{resource} ");
        }
        let _ = write!(out, "{}:{}:{}) ", d.file, d.line, d.column);
        if !d.path.is_empty() {
            let _ = write!(out, "{}: ", d.path);
        }
        let _ = writeln!(out, "{}", d.message);
    }
    let analyzed = format!(
        "{} in {}",
        plural(run.resources, "resource"),
        plural(run.files, "file")
    );
    let against = match run.workloads {
        Ok((count, source)) => format!(", against {} from {source}", plural(count, "workload")),
        Err(_) => String::new(),
    };
    if findings.is_empty() {
        let _ = writeln!(
            out,
            "\u{2714} No validation issues found when analyzing {analyzed}{against}."
        );
    } else {
        let count = |s: Severity| {
            findings
                .iter()
                .filter(|f| f.diagnostic.severity == s)
                .count()
        };
        let _ = writeln!(
            out,
            "Found {}, {} and {} when analyzing {analyzed}{against}.",
            plural(count(Severity::Error), "error"),
            plural(count(Severity::Warning), "warning"),
            plural(count(Severity::Info), "info"),
        );
    }
    out
}

/// `1 file`, `2 files` (`info` stays `info`); `sailkit lint` counts with it too.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 || word == "info" {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The findings and what they were found in, for scripts.
pub fn json(findings: &[Finding], run: &Run<'_>) -> Value {
    let count = |s: Severity| {
        findings
            .iter()
            .filter(|f| f.diagnostic.severity == s)
            .count()
    };
    json!({
        "findings": findings.iter().map(|f| {
            let d = &f.diagnostic;
            json!({
                "level": level(d.severity),
                "code": f.code.map(|c| c.id()),
                "name": f.code.map(|c| c.name()),
                "resource": f.resource,
                "file": d.file,
                "line": d.line,
                "column": d.column,
                "path": d.path,
                "message": d.message,
            })
        }).collect::<Vec<_>>(),
        "summary": {
            "files": run.files,
            "resources": run.resources,
            "errors": count(Severity::Error),
            "warnings": count(Severity::Warning),
            "info": count(Severity::Info),
        },
        "workloads": match run.workloads {
            Ok((count, source)) => json!({"checked": true, "count": count, "source": source}),
            Err(why) => json!({"checked": false, "why": why}),
        },
    })
}
