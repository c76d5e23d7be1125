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

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};

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

/// A YAML syntax error, with where the parser stopped.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// Parse every document of a `---` separated stream. Empty documents come back as `Value::Null`.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|error| SyntaxError {
            position: Position::from_marker(error.marker()),
            message: error.info(),
        })?;
        builder.event(event, Position::from_marker(&span.start))?;
    }
    Ok(builder.documents)
}

/// A collection being filled while its events stream past.
enum Frame {
    Seq {
        path: String,
        anchor: usize,
        items: Vec<Value>,
    },
    Map {
        path: String,
        anchor: usize,
        entries: Map<String, Value>,
        pending_key: Option<String>,
    },
}

#[derive(Default)]
struct Builder {
    documents: Vec<Document>,
    stack: Vec<Frame>,
    spans: SpanMap,
    anchors: HashMap<usize, Value>,
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
                self.anchors.clear();
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
                    if entries.contains_key(&key) {
                        return Err(SyntaxError {
                            position: at,
                            message: format!("duplicate key `{key}`"),
                        });
                    }
                    let child = join_key(path, &key);
                    self.spans.positions.insert(child, at);
                    *pending = Some(key);
                    return Ok(());
                }
                let quoted = style != ScalarStyle::Plain;
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                let value = if quoted || tagged_str {
                    Value::String(text.into_owned())
                } else {
                    resolve_plain(&text)
                };
                self.value_position(at);
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push_value(value);
            }
            Event::Alias(anchor) => {
                if self.key_expected() {
                    return Err(SyntaxError {
                        position: at,
                        message: "an alias cannot be used as a mapping key here".into(),
                    });
                }
                self.value_position(at);
                let value = self.anchors.get(&anchor).cloned().unwrap_or(Value::Null);
                self.push_value(value);
            }
            Event::SequenceStart(_, anchor, _) => {
                self.reject_collection_key(at)?;
                let path = self.value_position(at);
                self.stack.push(Frame::Seq {
                    path,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(_, anchor, _) => {
                self.reject_collection_key(at)?;
                let path = self.value_position(at);
                self.stack.push(Frame::Map {
                    path,
                    anchor,
                    entries: Map::new(),
                    pending_key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Map {
                        entries, anchor, ..
                    }) => (Value::Object(entries), anchor),
                    None => return Ok(()),
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push_value(value);
            }
            _ => {}
        }
        Ok(())
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
            return Err(SyntaxError {
                position: at,
                message: "mapping keys must be plain strings in Istio resources".into(),
            });
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
    fn empty_stream_and_empty_document() {
        assert!(parse_documents("").expect("empty ok").is_empty());
        let docs = parse_documents("---\n---\na: 1\n").expect("ok");
        assert_eq!(docs[0].value, Value::Null);
    }
}
