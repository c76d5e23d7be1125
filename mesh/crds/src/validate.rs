//! An object checked against its CRD's schema, as the API server would at `kubectl apply
//! --validate=strict`: every field present must be described, with the right type.
//!
//! This covers the OpenAPI v3 subset that [`crate::structural`] allows: `type`, `properties`,
//! `additionalProperties`, `items`, `required`, `enum`, `minimum`/`maximum`, `nullable` and
//! `x-kubernetes-preserve-unknown-fields`. A field the schema does not describe is an error
//! where the object is closed (a cluster would drop it, or refuse it under strict validation).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Map, Value};

use crate::structural::{join, shown};

/// Check one Kubernetes object (a whole document: apiVersion, kind, metadata, spec) against the
/// CRD of its kind among `crds`. Each error names the object (`VirtualService
/// default/reviews`) and the field path.
pub fn object(object: &Value, crds: &[CustomResourceDefinition]) -> Vec<String> {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
    let metadata = |key: &str| {
        object
            .get("metadata")
            .and_then(|metadata| metadata.get(key))
            .and_then(Value::as_str)
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let named = format!(
        "{kind} {}/{}",
        metadata("namespace").unwrap_or("default"),
        metadata("name").unwrap_or("(no name)")
    );
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let Some(crd) = crds
        .iter()
        .find(|crd| crd.spec.group == group && crd.spec.names.kind == kind)
    else {
        return vec![format!("{named}: no CRD for {api_version} {kind}")];
    };
    let schema = crd
        .spec
        .versions
        .iter()
        .find(|served| served.name == version && served.served)
        .and_then(|served| served.schema.as_ref())
        .and_then(|validation| validation.open_api_v3_schema.as_ref())
        .map(serde_json::to_value);
    let schema = match schema {
        Some(Ok(schema)) => schema,
        Some(Err(error)) => return vec![format!("{named}: unreadable schema: {error}")],
        None => return vec![format!("{named}: version {version} is not served")],
    };
    // The API server checks `apiVersion`, `kind` and `metadata` itself, whatever the CRD says;
    // the schema is for the rest.
    let mut rest = object.clone();
    if let Some(fields) = rest.as_object_mut() {
        for own in ["apiVersion", "kind", "metadata"] {
            fields.remove(own);
        }
    }
    value(&rest, &schema)
        .into_iter()
        .map(|error| format!("{named}: {error}"))
        .collect()
}

/// Check a value against a schema; each error is `<field path>: <what is wrong>`.
pub fn value(value: &Value, schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(value, schema, "", &mut found);
    found
}

fn check(value: &Value, schema: &Value, path: &str, found: &mut Vec<String>) {
    let Some(node) = schema.as_object() else {
        found.push(format!("{}: the schema here is not an object", shown(path)));
        return;
    };
    let preserves = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let expected = node.get("type").and_then(Value::as_str);
    // A cluster prunes a null where the schema does not allow one; either way it is no error.
    if value.is_null() || (expected.is_none() && preserves) {
        return;
    }
    let fits = match expected {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => false,
    };
    if !fits {
        let expected = expected.unwrap_or("(no type)");
        found.push(format!(
            "{}: expected {expected}, found {}",
            shown(path),
            describe(value)
        ));
        return;
    }
    let mut say = |what: String| found.push(format!("{}: {what}", shown(path)));
    if let Some(allowed) = node.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        say(format!(
            "{value} is not one of {}",
            Value::Array(allowed.clone())
        ));
    }
    if let Some(number) = value.as_f64() {
        let bound = |key: &str| node.get(key).and_then(Value::as_f64);
        if let Some(minimum) = bound("minimum").filter(|minimum| number < *minimum) {
            say(format!("{value} is below the minimum {minimum}"));
        }
        if let Some(maximum) = bound("maximum").filter(|maximum| number > *maximum) {
            say(format!("{value} is above the maximum {maximum}"));
        }
    }
    match value {
        Value::Object(fields) => check_fields(fields, node, preserves, path, found),
        Value::Array(items) => {
            if let Some(item_schema) = node.get("items") {
                for (index, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{index}]"), found);
                }
            }
        }
        _ => {}
    }
}

fn check_fields(
    fields: &Map<String, Value>,
    node: &Map<String, Value>,
    preserves: bool,
    path: &str,
    found: &mut Vec<String>,
) {
    let properties = node.get("properties").and_then(Value::as_object);
    let additional = node.get("additionalProperties");
    for (name, field) in fields {
        let at = join(path, name);
        match (
            properties.and_then(|properties| properties.get(name)),
            additional,
        ) {
            (Some(schema), _) | (None, Some(schema)) => check(field, schema, &at, found),
            (None, None) if preserves => {}
            (None, None) => found.push(format!(
                "{at}: unknown field (the schema here is closed; known: {})",
                known(properties)
            )),
        }
    }
    let required = node.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        if fields.get(name).is_none_or(Value::is_null) {
            found.push(format!("{}: missing required field", join(path, name)));
        }
    }
}

fn known(properties: Option<&Map<String, Value>>) -> String {
    let names: Vec<&str> = properties
        .into_iter()
        .flat_map(|properties| properties.keys().map(String::as_str))
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Object(_) => "an object".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        other => other.to_string(),
    }
}
