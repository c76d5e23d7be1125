//! The walker: YAML events in, one tree per document out, with the position of every path.
//!
//! Collections are filled on a stack of [`Frame`]s as their events stream past; a finished
//! collection becomes a value of its parent. Named nodes (`&name`) are kept for the aliases
//! (`*name`) that copy them, and every node and copy goes through the document's [`Meter`]
//! first, so that a document past a limit is refused at the node that crossed it.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, ScalarStyle};

use super::limits::{Limits, Meter, Size};
use super::{Document, ErrorKind, ParseError, Position, SpanMap};

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

/// Builds the documents of one YAML text from its events.
#[derive(Default)]
pub(super) struct Builder {
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
    pub(super) fn new(limits: Limits) -> Self {
        Builder {
            limits,
            ..Builder::default()
        }
    }

    /// The documents built, once every event is in.
    pub(super) fn into_documents(self) -> Vec<Document> {
        self.documents
    }

    /// Takes the next event, which starts at `at`.
    pub(super) fn event(&mut self, event: Event<'_>, at: Position) -> Result<(), ParseError> {
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
                        return Err(ParseError::new(
                            ErrorKind::Unsupported,
                            at,
                            "merge keys (`<<`) are not supported: write the fields out, \
                             or repeat the whole mapping with an alias (`key: *name`)",
                        ));
                    }
                    if entries.contains_key(&key) {
                        return Err(ParseError::new(
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
                    return Err(ParseError::new(
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
    fn open_collection(&mut self, at: Position) -> Result<(), ParseError> {
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

    fn reject_collection_key(&self, at: Position) -> Result<(), ParseError> {
        if self.key_expected() {
            return Err(ParseError::new(
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
fn over_limit(at: Position) -> impl Fn(String) -> ParseError {
    move |message| ParseError::new(ErrorKind::OverLimit, at, message)
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
    fn core_schema_scalars() {
        assert_eq!(resolve_plain("100"), Value::Number(100.into()));
        assert_eq!(resolve_plain("100.0").as_f64(), Some(100.0));
        assert_eq!(resolve_plain("0.5s"), Value::String("0.5s".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("v1"), Value::String("v1".into()));
        assert_eq!(resolve_plain("1e3").as_f64(), Some(1000.0));
    }
}
