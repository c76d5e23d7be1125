//! A Kubernetes object as a config text for admission.
//!
//! The object becomes the YAML document it would be in a file: `apiVersion`, `kind`,
//! `metadata` (its name and namespace) and `spec`, written as indented JSON (JSON is YAML, and
//! `mesh_config::load_str` reads it), one field a line, so a diagnostic's line and column point
//! at one field. The text is named after the object, `VirtualService default/reviews`, so that
//! a refusal says which object it is, in the log, on `/config_dump` and in a proxy's NACK.
//!
//! The rest of the object is left out: `status`, and the metadata the API server adds
//! (`resourceVersion`, `managedFields`, ...), which change without the config changing and
//! which mesh-config does not take.

use kube::api::DynamicObject;
use serde_json::{Map, Value, json};

use crate::config_source::NamedText;

/// The name of `kind` object `namespace/name`, as admission and its refusals show it.
pub fn text_name(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind} {namespace}/{name}")
}

/// `object`, of `kind` in `api_version`, as a named config text.
pub fn render(api_version: &str, kind: &str, object: &DynamicObject) -> NamedText {
    let name = object.metadata.name.clone().unwrap_or_default();
    let namespace = object
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let mut document = Map::new();
    document.insert("apiVersion".to_owned(), json!(api_version));
    document.insert("kind".to_owned(), json!(kind));
    document.insert(
        "metadata".to_owned(),
        json!({"name": name, "namespace": namespace}),
    );
    // Without a spec the object is refused by mesh-config's own message for a missing field.
    if let Some(spec) = object.data.get("spec") {
        document.insert("spec".to_owned(), spec.clone());
    }
    let text = serde_json::to_string_pretty(&Value::Object(document))
        .map(|text| text + "\n")
        .map_err(|error| format!("cannot render the object: {error}"));
    NamedText {
        name: text_name(kind, &namespace, &name),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> DynamicObject {
        serde_json::from_value(value).expect("an object")
    }

    #[test]
    fn the_text_is_the_object_as_a_file_and_loads_with_the_lines_of_its_fields() {
        let reviews = object(json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": "bookinfo", "resourceVersion": "42",
                         "managedFields": [{"manager": "kubectl"}]},
            "spec": {"hosts": ["reviews"], "http": [{"route": [
                {"destination": {"host": "reviews"}, "weight": 500}]}]},
            "status": {"observedGeneration": 1},
        }));
        let rendered = render("networking.istio.io/v1", "VirtualService", &reviews);
        assert_eq!(rendered.name, "VirtualService bookinfo/reviews");
        let text = rendered.text.expect("rendered");
        assert!(
            !text.contains("resourceVersion") && !text.contains("status"),
            "{text}"
        );

        let loaded = mesh_config::load_str(&rendered.name, &text);
        let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
        let weight_line = text
            .lines()
            .position(|line| line.contains("\"weight\""))
            .expect("a weight line")
            + 1;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(&format!("VirtualService bookinfo/reviews:{weight_line}:")),
            "{errors:?}\n{text}"
        );
    }

    #[test]
    fn an_object_without_spec_is_refused_by_name() {
        let empty = object(json!({"metadata": {"name": "empty"}}));
        let rendered = render("networking.istio.io/v1", "Gateway", &empty);
        assert_eq!(rendered.name, "Gateway default/empty");
        let loaded = mesh_config::load_str(&rendered.name, &rendered.text.expect("rendered"));
        assert!(loaded.has_errors());
    }
}
