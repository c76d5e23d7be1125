//! Diagnostics: every problem found while loading is a value, never a panic or an early return.
//!
//! A diagnostic names the file, the 1-based line and column, and the field path
//! (`spec.http[0].route[1].weight`) so that a learner can jump straight to the mistake. Loading
//! collects all of them, so one run shows every problem in a file, not just the first.
//!
//! [`Report`] is how the loader and the checks of `validate` record them for one document: they
//! name a field path, and the report finds its line and column.

use std::fmt;

use crate::yaml::{Position, SpanMap};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The resource is rejected: it is malformed or means something Istio would refuse.
    Error,
    /// The resource is accepted, but part of it is valid Istio that sailkit does not implement
    /// (it will be ignored), or it points at something that does not exist.
    Warning,
    /// For information only, e.g. a non-networking document that was skipped.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One problem, located in its source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file name as given to the loader (`load_str`'s `name`, or the path).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Field path inside the document, e.g. `spec.http[0].route[1].weight`; empty for the whole
    /// document or for a YAML syntax error.
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: severity: path: message`, the shape compilers use, so editors and
    /// terminals can link it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: ",
            self.file, self.line, self.column, self.severity
        )?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// Collects diagnostics for one document, turning field paths into file positions.
pub struct Report<'a> {
    file: &'a str,
    spans: &'a SpanMap,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(file: &'a str, spans: &'a SpanMap) -> Self {
        Report {
            file,
            spans,
            diagnostics: Vec::new(),
        }
    }

    /// Record a diagnostic about the field at `path`.
    pub fn push(&mut self, severity: Severity, path: &str, message: impl Into<String>) {
        let Position { line, column } = self.spans.locate(path);
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.to_owned(),
            line,
            column,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// An error at `path`.
    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, path, message);
    }

    /// A warning at `path`.
    pub fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, path, message);
    }
}
