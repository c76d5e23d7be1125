//! YAML text → [`Object`]s, each remembering its file and the line of every field.
//!
//! The text is what `kubectl kustomize` prints: documents separated by `---`; a document may
//! also be a `kind: List` whose `items` are the objects (what `kubectl get -o yaml` prints). The
//! YAML is read with mesh-config's reader, the one the mesh uses for Istio files, so a field
//! path (`spec.ports[0].targetPort`) turns back into the line it was written on.

use std::fmt;
use std::sync::Arc;

use mesh_config::yaml::{self, Document};
use serde_json::Value;

use crate::object::{DEFAULT_NAMESPACE, Object, items};

/// A file that could not be read as manifests: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for LoadError {}

/// Reads manifests from `text`; `file` is the name the findings give (`-` for standard input).
pub fn parse(file: &str, text: &str) -> Result<Vec<Object>, LoadError> {
    parse_in(file, text, DEFAULT_NAMESPACE)
}

/// [`parse`], with the objects that name no namespace put in `namespace` (`kubectl apply -n`).
pub fn parse_in(file: &str, text: &str, namespace: &str) -> Result<Vec<Object>, LoadError> {
    let error = |line: usize, message: String| LoadError {
        file: file.to_owned(),
        line,
        message,
    };
    let documents =
        yaml::parse_documents(text).map_err(|e| error(e.position.line, e.to_string()))?;
    let file: Arc<str> = Arc::from(file);
    let mut objects = Vec::new();
    for Document { value, spans } in documents {
        // An empty document (`---` twice, a trailing `---`) is nothing, as for kubectl.
        if value.is_null() {
            continue;
        }
        let spans = Arc::new(spans);
        let line = spans.start().line;
        if !value.is_object() {
            return Err(error(
                line,
                "a document is not a mapping, so not a Kubernetes object".into(),
            ));
        }
        if value.get("kind").and_then(Value::as_str) == Some("List") {
            for (i, item) in items(value.get("items")).iter().enumerate() {
                let prefix = format!("items[{i}]");
                objects.push(checked(Object::new(
                    file.clone(),
                    item.clone(),
                    spans.clone(),
                    prefix,
                    namespace,
                ))?);
            }
        } else {
            objects.push(checked(Object::new(
                file.clone(),
                value,
                spans,
                String::new(),
                namespace,
            ))?);
        }
    }
    Ok(objects)
}

/// An object must say what it is and be named, or nothing else can be said of it.
fn checked(object: Object) -> Result<Object, LoadError> {
    let missing = [
        ("apiVersion", object.api_version.is_empty()),
        ("kind", object.kind.is_empty()),
        ("metadata.name", object.name.is_empty()),
    ];
    match missing.iter().find(|(_, absent)| *absent) {
        Some((field, _)) => Err(LoadError {
            file: object.file.to_string(),
            line: object.line(""),
            message: format!("not a Kubernetes object: it has no `{field}`"),
        }),
        None => Ok(object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_list_items_keep_their_lines() {
        let text = "\
apiVersion: v1
kind: Service
metadata: {name: a, namespace: shop}
---
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: b
    data: {x: y}
";
        let objects = parse("in.yaml", text).expect("valid");
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].to_string(), "Service shop/a");
        assert_eq!(objects[0].line(""), 1);
        assert_eq!(objects[1].to_string(), "ConfigMap default/b");
        assert_eq!(objects[1].line(""), 9);
        assert_eq!(objects[1].line("metadata.name"), 12);
        assert_eq!(objects[1].line("data.missing"), 13);
        let objects = parse_in("in.yaml", text, "bookinfo").expect("valid");
        assert_eq!(objects[0].to_string(), "Service shop/a");
        assert_eq!(objects[1].to_string(), "ConfigMap bookinfo/b");
    }

    #[test]
    fn malformed_yaml_and_objects_are_errors_with_their_line() {
        let error = parse("bad.yaml", "kind: Service\nmetadata:\n  name: [a\n").expect_err("bad");
        assert_eq!(error.file, "bad.yaml");
        assert!(error.line >= 3, "{error}");
        assert!(error.to_string().starts_with("bad.yaml:"), "{error}");
        let error = parse("-", "apiVersion: v1\nkind: Service\n---\n- a\n").expect_err("no name");
        assert_eq!(
            error.to_string(),
            "-:1: not a Kubernetes object: it has no `metadata.name`"
        );
        let error = parse("-", "a: 1\n---\n- a\n").expect_err("a list");
        assert_eq!(error.line, 1);
    }
}
