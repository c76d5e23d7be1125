//! Kubernetes accepts a CRD schema only if it is *structural*: the shape of every value is
//! known from the schema alone. This module checks the rules for the subset of OpenAPI v3 that
//! our CRDs emit, stricter than the API server where that keeps the check simple:
//!
//! - every node has a `type`, except one that says `x-kubernetes-preserve-unknown-fields: true`
//!   (it accepts any value, and says so);
//! - no `$ref`, and no `anyOf`, `oneOf`, `allOf` or `not` (the API server allows the last four
//!   only when they repeat types said elsewhere; we emit none);
//! - an object has `properties` or `additionalProperties`, never both, and each is a schema;
//!   every name in `required` is a property;
//! - an array has one `items` schema;
//! - the root is an object without `additionalProperties`, and says of `metadata` at most its
//!   `name` and `generateName` (the API server owns the rest).

use serde_json::{Map, Value};

const TYPES: [&str; 6] = ["object", "array", "string", "integer", "number", "boolean"];
const COMBINATORS: [&str; 5] = ["$ref", "anyOf", "oneOf", "allOf", "not"];

/// Every rule the schema breaks, each as `<path>: <what is wrong>` (the path in field form,
/// `spec.http[].timeout`; empty for the root).
pub fn violations(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(schema, "", &mut found);
    root(schema, &mut found);
    found
}

fn root(schema: &Value, found: &mut Vec<String>) {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        found.push("(root): the root must be `type: object`".to_owned());
    }
    if schema.get("additionalProperties").is_some() {
        found.push("(root): `additionalProperties` is not allowed at the root".to_owned());
    }
    let metadata = schema
        .get("properties")
        .and_then(|root| root.get("metadata"));
    let said = metadata.and_then(|metadata| metadata.as_object());
    for (keyword, value) in said.into_iter().flatten() {
        let fields = value
            .as_object()
            .into_iter()
            .flat_map(|fields| fields.keys());
        let beyond_name = fields
            .filter(|field| !["name", "generateName"].contains(&field.as_str()))
            .count();
        if !["type", "properties", "description"].contains(&keyword.as_str()) || beyond_name > 0 {
            found.push(format!(
                "metadata: only `name` and `generateName` may be restricted, found `{keyword}`"
            ));
        }
    }
}

fn walk(schema: &Value, path: &str, found: &mut Vec<String>) {
    let mut say = |what: String| found.push(format!("{}: {what}", shown(path)));
    let Some(node) = schema.as_object() else {
        say(format!("a schema must be an object, found {schema}"));
        return;
    };
    for keyword in COMBINATORS {
        if node.contains_key(keyword) {
            say(format!("`{keyword}` is not allowed"));
        }
    }
    let preserves = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    match node.get("type").and_then(Value::as_str) {
        Some("object") => walk_object(node, path, found),
        Some("array") => match node.get("items") {
            Some(items @ Value::Object(_)) => walk(items, &format!("{path}[]"), found),
            _ => say("an array needs one `items` schema".to_owned()),
        },
        Some(kind) if TYPES.contains(&kind) => {}
        Some(kind) => say(format!("unknown type `{kind}`")),
        None if preserves => {}
        None => say("no `type` (only a node that preserves unknown fields may omit it)".to_owned()),
    }
}

fn walk_object(node: &Map<String, Value>, path: &str, found: &mut Vec<String>) {
    let properties = node.get("properties");
    let additional = node.get("additionalProperties");
    if properties.is_some() && additional.is_some() {
        found.push(format!(
            "{}: `properties` and `additionalProperties` together",
            shown(path)
        ));
    }
    if let Some(additional) = additional {
        walk(additional, &format!("{path}.*"), found);
    }
    let properties = properties.and_then(Value::as_object);
    for (name, property) in properties.into_iter().flatten() {
        walk(property, &join(path, name), found);
    }
    let required = node.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten() {
        let known = name
            .as_str()
            .is_some_and(|name| properties.is_some_and(|properties| properties.contains_key(name)));
        if !known {
            found.push(format!(
                "{}: required {name} is not a property",
                shown(path)
            ));
        }
    }
}

/// `spec` + `hosts` → `spec.hosts`; the root has no leading dot.
pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

pub(crate) fn shown(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}
