//! YAML text → one JSON-like tree per document, plus where every node sits in the file.
//!
//! Serde alone can tell *which field* was wrong (`spec.http[0].route[1].weight`) but not *where*
//! it was written once the document has been turned into a tree. So this module walks the YAML
//! event stream itself (the event parser that ships with `serde-saphyr`) and records, for every
//! path, the line and column where its key (or sequence item) starts. Every later stage —
//! deserialization, validation, set-level checks — turns a field path back into a line with
//! [`SpanMap::locate`]. That is how every diagnostic gets a `file:line:column`.
//!
//! Scalars are typed with the YAML 1.2 core schema (what Kubernetes tools use): plain `100` is an
//! integer, `0.5` a float, `true` a boolean, `null`/`~`/empty is null, anything quoted is a string.
//!
//! Anchors and aliases (`&name`, `*name`) are copied into the tree, within the limits of
//! `limits` (an alias bomb is refused at the alias that would pass them). Merge keys (`<<: *name`,
//! a YAML 1.1 extension) are refused.
//!
//! - `builder`: the walker, events in, trees and positions out.
//! - `limits`: how much a file may cost, and the meter that counts it.

mod builder;
mod limits;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;
use serde_saphyr::granit_parser::{ErrorKind as ScanErrorKind, Marker, Options, Parser, ScanError};

use builder::Builder;
pub use limits::{LIMITS, Limits};

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Position {
    fn from_marker(marker: &Marker) -> Self {
        // The parser counts lines from 1 and columns from 0; editors count both from 1.
        Position {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

/// Field path (as serde_path_to_error prints it) → where it was written.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    start: Position,
    positions: HashMap<String, Position>,
}

impl SpanMap {
    /// Where `path` was written. A path that is not in the file (a missing field, say) falls back
    /// to its nearest written ancestor, and finally to the document's first line.
    pub fn locate(&self, path: &str) -> Position {
        let mut path = path;
        loop {
            if let Some(position) = self.positions.get(path) {
                return *position;
            }
            match parent(path) {
                Some(up) => path = up,
                None => return self.start,
            }
        }
    }

    /// Where the document starts.
    pub fn start(&self) -> Position {
        self.start
    }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → None.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

/// One YAML document: its tree and the positions of its nodes.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub spans: SpanMap,
}

/// Why a YAML text was not turned into documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not YAML, or YAML an Istio resource cannot be (a mapping as a key, a duplicate key).
    Malformed,
    /// Valid YAML that this loader does not read (merge keys).
    Unsupported,
    /// Past one of the [`Limits`]: too large, too deep, or too many copies made by aliases.
    OverLimit,
}

/// A YAML text refused, with where: the character the parser stopped at, or the node that
/// broke a rule or crossed a limit.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub position: Position,
    pub message: String,
}

impl ParseError {
    fn new(kind: ErrorKind, position: Position, message: impl Into<String>) -> Self {
        ParseError {
            kind,
            position,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Malformed => "malformed YAML",
            ErrorKind::Unsupported => "unsupported YAML",
            ErrorKind::OverLimit => "YAML over a limit",
        };
        write!(f, "{what}: {}", self.message)
    }
}

/// Parse every document of a `---` separated stream. Empty documents come back as `Value::Null`.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, ParseError> {
    parse_documents_within(text, LIMITS)
}

/// Refuses a file of `bytes` bytes past `limits.file_bytes`, at its first line.
pub fn check_file_size(bytes: usize, limits: Limits) -> Result<(), ParseError> {
    let first_line = Position { line: 1, column: 1 };
    limits::file_size(bytes, limits)
        .map_err(|message| ParseError::new(ErrorKind::OverLimit, first_line, message))
}

/// [`parse_documents`] with other limits (tests use small ones).
pub fn parse_documents_within(text: &str, limits: Limits) -> Result<Vec<Document>, ParseError> {
    check_file_size(text.len(), limits)?;
    let mut builder = Builder::new(limits);
    let mut options = Options::default();
    // Anchor events carry the names of anchors, for the message that refuses an alias.
    options.emit_anchor_events = true;
    // The scanner reads ahead of the events, so it is the first to see deep flow nesting
    // (`[[[[...`): it stops at the same depth the builder would.
    options.flow_nesting_limit = limits.depth;
    options.block_nesting_limit = limits.depth;
    for event in Parser::new_from_str_with_options(text, options) {
        let (event, span) = event.map_err(|error| scan_error(&error, limits))?;
        builder.event(event, Position::from_marker(&span.start))?;
    }
    Ok(builder.into_documents())
}

fn scan_error(error: &ScanError, limits: Limits) -> ParseError {
    let position = Position::from_marker(error.marker());
    match error.kind() {
        ScanErrorKind::RecursionLimitExceeded => ParseError::new(
            ErrorKind::OverLimit,
            position,
            limits::too_deep(limits.depth),
        ),
        _ => ParseError::new(ErrorKind::Malformed, position, error.info()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_keys_and_items() {
        let docs =
            parse_documents("a: 1\nb:\n  - x: 2\n  - y: \"3\"\n---\nc: 7s\n").expect("valid");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value["b"][1]["y"], Value::String("3".into()));
        assert_eq!(docs[0].value["b"][0]["x"], Value::Number(2.into()));
        assert_eq!(
            docs[0].spans.locate("b[1].y"),
            Position { line: 4, column: 5 }
        );
        assert_eq!(
            docs[0].spans.locate("b[1]"),
            Position { line: 4, column: 5 }
        );
        assert_eq!(docs[1].spans.locate("c"), Position { line: 6, column: 1 });
        assert_eq!(
            docs[1].spans.locate("c.missing"),
            Position { line: 6, column: 1 }
        );
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let error = parse_documents("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!(error.position.line, 2);
    }

    #[test]
    fn aliases_copy_their_anchor_and_count_its_size() {
        let text = "a: &a [1, {x: y}]\nb: *a\nc: *a\n";
        let docs = parse_documents(text).expect("within the limits");
        assert_eq!(docs[0].value["c"], docs[0].value["a"]);
        // `&a` is 4 nodes (the list, 1, the mapping, y): two copies fit in 8, not in 7.
        let limits = |alias_nodes| Limits {
            alias_nodes,
            ..LIMITS
        };
        assert!(parse_documents_within(text, limits(8)).is_ok());
        let error = parse_documents_within(text, limits(7)).expect_err("over");
        assert_eq!(error.kind, ErrorKind::OverLimit);
        assert_eq!(error.position, Position { line: 3, column: 4 });
        assert!(
            error.message.starts_with("alias *a copies 4 nodes"),
            "{error}"
        );
    }

    #[test]
    fn anchors_are_per_document_and_the_meter_restarts() {
        let limits = Limits {
            alias_nodes: 2,
            ..LIMITS
        };
        let text = "a: &a [1]\nb: *a\n---\na: &a [1]\nb: *a\n";
        assert!(parse_documents_within(text, limits).is_ok());
    }

    #[test]
    fn too_deep_is_refused_at_the_collection_past_the_limit() {
        let limits = Limits { depth: 3, ..LIMITS };
        assert!(parse_documents_within("[[[1]]]", limits).is_ok());
        let error = parse_documents_within("[[[[1]]]]", limits).expect_err("4 deep");
        assert_eq!(error.position, Position { line: 1, column: 4 });
        assert!(error.message.contains("limit of 3 levels"), "{error}");
    }

    #[test]
    fn merge_keys_are_refused_where_they_are_written() {
        let error = parse_documents("a: &a {x: 1}\nb:\n  <<: *a\n").expect_err("merge");
        assert_eq!(error.kind, ErrorKind::Unsupported);
        assert_eq!(error.position, Position { line: 3, column: 3 });
        // A quoted `<<` is an ordinary key.
        assert!(parse_documents("\"<<\": 1\n").is_ok());
    }

    #[test]
    fn empty_stream_and_empty_document() {
        assert!(parse_documents("").expect("empty ok").is_empty());
        let docs = parse_documents("---\n---\na: 1\n").expect("ok");
        assert_eq!(docs[0].value, Value::Null);
    }
}
