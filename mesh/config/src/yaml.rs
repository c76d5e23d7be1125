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

mod limits;

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{
    ErrorKind as ScanErrorKind, Event, Marker, Options, Parser, ScalarStyle, ScanError,
};

pub use limits::{LIMITS, Limits};
use limits::{Meter, Size};

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
pub struct SyntaxError {
    pub kind: ErrorKind,
    pub position: Position,
    pub message: String,
}

impl SyntaxError {
    fn new(kind: ErrorKind, position: Position, message: impl Into<String>) -> Self {
        SyntaxError {
            kind,
            position,
            message: message.into(),
        }
    }
}

impl fmt::Display for SyntaxError {
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
pub fn parse_documents(text: &str) -> Result<Vec<Document>, SyntaxError> {
    parse_documents_within(text, LIMITS)
}

/// Refuses a file of `bytes` bytes past `limits.file_bytes`, at its first line.
pub fn check_file_size(bytes: usize, limits: Limits) -> Result<(), SyntaxError> {
    let first_line = Position { line: 1, column: 1 };
    limits::file_size(bytes, limits)
        .map_err(|message| SyntaxError::new(ErrorKind::OverLimit, first_line, message))
}

/// [`parse_documents`] with other limits (tests use small ones).
pub fn parse_documents_within(text: &str, limits: Limits) -> Result<Vec<Document>, SyntaxError> {
    check_file_size(text.len(), limits)?;
    let mut builder = Builder {
        limits,
        ..Builder::default()
    };
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
    Ok(builder.documents)
}

fn scan_error(error: &ScanError, limits: Limits) -> SyntaxError {
    let position = Position::from_marker(error.marker());
    match error.kind() {
        ScanErrorKind::RecursionLimitExceeded => SyntaxError::new(
            ErrorKind::OverLimit,
            position,
            limits::too_deep(limits.depth + 1, limits.depth),
        ),
        _ => SyntaxError::new(ErrorKind::Malformed, position, error.info()),
    }
}

/// A collection being filled while its events stream past.
/// `opened_at` is the document's [`Meter`] reading when the collection opened: at its end, the
/// difference is the collection's size, what an alias to it will copy.
enum Frame {
    Seq {
        path: String,
        anchor: usize,
        opened_at: Size,
        items: Vec<Value>,
    },
    Map {
        path: String,
        anchor: usize,
        opened_at: Size,
        entries: Map<String, Value>,
        pending_key: Option<String>,
    },
}

/// A node named with `&name`: its copy for aliases, and its size.
struct Anchored {
    value: Value,
    size: Size,
}

#[derive(Default)]
struct Builder {
    limits: Limits,
    documents: Vec<Document>,
    stack: Vec<Frame>,
    spans: SpanMap,
    meter: Meter,
    anchors: HashMap<usize, Anchored>,
    anchor_names: HashMap<usize, String>,
    root: Option<Value>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, at: Position) -> Result<(), SyntaxError> {
        match event {
            Event::DocumentStart(..) => {
                self.spans = SpanMap {
                    start: at,
                    positions: HashMap::new(),
                };
                self.meter = Meter::new(self.limits);
                self.anchors.clear();
                self.anchor_names.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                let spans = std::mem::take(&mut self.spans);
                let value = self.root.take().unwrap_or(Value::Null);
                self.documents.push(Document { value, spans });
            }
            Event::Scalar(text, style, anchor, tag) => {
                // In key position a scalar is the key itself, not a value.
                if let Some(Frame::Map {
                    path,
                    pending_key: pending @ None,
                    entries,
                    ..
                }) = self.stack.last_mut()
                {
                    let key = text.into_owned();
                    if style == ScalarStyle::Plain && key == "<<" {
                        return Err(SyntaxError::new(
                            ErrorKind::Unsupported,
                            at,
                            "merge keys (`<<`) are not supported: write the fields out, \
                             or repeat the whole mapping with an alias (`key: *name`)",
                        ));
                    }
                    if entries.contains_key(&key) {
                        return Err(SyntaxError::new(
                            ErrorKind::Malformed,
                            at,
                            format!("duplicate key `{key}`"),
                        ));
                    }
                    let child = join_key(path, &key);
                    self.spans.positions.insert(child, at);
                    self.meter.node(0, key.len()).map_err(over_limit(at))?;
                    *pending = Some(key);
                    return Ok(());
                }
                let bytes = text.len();
                self.meter.node(1, bytes).map_err(over_limit(at))?;
                let quoted = style != ScalarStyle::Plain;
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                let value = if quoted || tagged_str {
                    Value::String(text.into_owned())
                } else {
                    resolve_plain(&text)
                };
                self.value_position(at);
                if anchor != 0 {
                    let size = Size { nodes: 1, bytes };
                    let value = value.clone();
                    self.anchors.insert(anchor, Anchored { value, size });
                }
                self.push_value(value);
            }
            Event::Anchor(anchor, name) => {
                self.anchor_names.insert(anchor, name.into_owned());
            }
            Event::Alias(anchor) => {
                if self.key_expected() {
                    return Err(SyntaxError::new(
                        ErrorKind::Malformed,
                        at,
                        "an alias cannot be used as a mapping key here",
                    ));
                }
                self.value_position(at);
                let value = match self.anchors.get(&anchor) {
                    Some(anchored) => {
                        // Counted, and refused if too costly, before the copy is made.
                        let name = self.anchor_names.get(&anchor).map_or("?", String::as_str);
                        self.meter
                            .alias(name, anchored.size)
                            .map_err(over_limit(at))?;
                        anchored.value.clone()
                    }
                    // An alias to a collection still open (`&a [*a]`): nothing to copy yet.
                    None => {
                        self.meter.node(1, 0).map_err(over_limit(at))?;
                        Value::Null
                    }
                };
                self.push_value(value);
            }
            Event::SequenceStart(_, anchor, _) => {
                self.open_collection(at)?;
                let path = self.value_position(at);
                self.stack.push(Frame::Seq {
                    path,
                    anchor,
                    opened_at: self.meter.reading(),
                    items: Vec::new(),
                });
            }
            Event::MappingStart(_, anchor, _) => {
                self.open_collection(at)?;
                let path = self.value_position(at);
                self.stack.push(Frame::Map {
                    path,
                    anchor,
                    opened_at: self.meter.reading(),
                    entries: Map::new(),
                    pending_key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor, opened_at) = match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        anchor,
                        opened_at,
                        ..
                    }) => (Value::Array(items), anchor, opened_at),
                    Some(Frame::Map {
                        entries,
                        anchor,
                        opened_at,
                        ..
                    }) => (Value::Object(entries), anchor, opened_at),
                    None => return Ok(()),
                };
                if anchor != 0 {
                    // The collection itself was counted just before `opened_at`.
                    let now = self.meter.reading();
                    let size = Size {
                        nodes: now.nodes - opened_at.nodes + 1,
                        bytes: now.bytes - opened_at.bytes,
                    };
                    let value = value.clone();
                    self.anchors.insert(anchor, Anchored { value, size });
                }
                self.push_value(value);
            }
            _ => {}
        }
        Ok(())
    }

    /// A sequence or mapping starts at `at`: it must not be a key, nor too deep, nor one node
    /// too many.
    fn open_collection(&mut self, at: Position) -> Result<(), SyntaxError> {
        self.reject_collection_key(at)?;
        self.meter
            .check_depth(self.stack.len() + 1)
            .map_err(over_limit(at))?;
        self.meter.node(1, 0).map_err(over_limit(at))
    }

    fn key_expected(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        )
    }

    fn reject_collection_key(&self, at: Position) -> Result<(), SyntaxError> {
        if self.key_expected() {
            return Err(SyntaxError::new(
                ErrorKind::Malformed,
                at,
                "mapping keys must be plain strings in Istio resources",
            ));
        }
        Ok(())
    }

    /// Record where the value about to be pushed starts, and return its path. Map entries keep the
    /// key's position (recorded already): that is the line a reader looks for.
    fn value_position(&mut self, at: Position) -> String {
        let path = match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { path, items, .. }) => format!("{path}[{}]", items.len()),
            Some(Frame::Map {
                path, pending_key, ..
            }) => join_key(path, pending_key.as_deref().unwrap_or_default()),
        };
        self.spans.positions.entry(path.clone()).or_insert(at);
        path
    }

    fn push_value(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => {
                if let Some(key) = pending_key.take() {
                    entries.insert(key, value);
                }
            }
        }
    }
}

/// Turns a limit's refusal into an error at `at`, the node that crossed it.
fn over_limit(at: Position) -> impl Fn(String) -> SyntaxError {
    move |message| SyntaxError::new(ErrorKind::OverLimit, at, message)
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// YAML 1.2 core schema for plain (unquoted) scalars.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Number(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return Value::Number(n.into());
        }
    }
    let looks_numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if looks_numeric && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
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
    fn core_schema_scalars() {
        assert_eq!(resolve_plain("100"), Value::Number(100.into()));
        assert_eq!(resolve_plain("100.0").as_f64(), Some(100.0));
        assert_eq!(resolve_plain("0.5s"), Value::String("0.5s".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("v1"), Value::String("v1".into()));
        assert_eq!(resolve_plain("1e3").as_f64(), Some(1000.0));
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
