//! The generated schemas are structural (Kubernetes refuses a CRD whose schema is not), serve
//! Istio's three versions from one schema, and leave open only the fields sailkit does not
//! implement.

use mesh_crds::structural::violations;
use serde_json::{Value, json};

fn schemas() -> Vec<(String, String, bool, Value)> {
    mesh_crds::crds()
        .into_iter()
        .flat_map(|crd| {
            let kind = crd.spec.names.kind.clone();
            crd.spec.versions.into_iter().map(move |version| {
                let schema = version
                    .schema
                    .and_then(|validation| validation.open_api_v3_schema)
                    .expect("every version has a schema");
                let schema = serde_json::to_value(schema).expect("schema as JSON");
                (kind.clone(), version.name, version.storage, schema)
            })
        })
        .collect()
}

#[test]
fn every_schema_is_structural() {
    let schemas = schemas();
    assert_eq!(schemas.len(), 12, "four kinds, three versions each");
    for (kind, version, _, schema) in &schemas {
        let found = violations(schema);
        assert!(found.is_empty(), "{kind} {version}: {found:#?}");
        assert!(!schema.to_string().contains("$ref"), "{kind} {version}");
    }
}

#[test]
fn three_served_versions_one_schema_stored_as_v1() {
    for crd in mesh_crds::crds() {
        let versions: Vec<(&str, bool, bool)> = crd
            .spec
            .versions
            .iter()
            .map(|version| (version.name.as_str(), version.served, version.storage))
            .collect();
        assert_eq!(
            versions,
            [
                ("v1", true, true),
                ("v1beta1", true, false),
                ("v1alpha3", true, false)
            ],
            "{}",
            crd.spec.names.kind
        );
        assert_eq!(crd.spec.scope, "Namespaced");
        let first = &crd.spec.versions[0].schema;
        assert!(
            crd.spec
                .versions
                .iter()
                .all(|version| version.schema == *first)
        );
    }
}

#[test]
fn the_checker_catches_each_non_structural_form() {
    let schema = json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "referenced": {"$ref": "#/definitions/Other"},
            "list": {"type": "array"},
            "both": {"type": "object", "properties": {"a": {"type": "string"}},
                     "additionalProperties": {"type": "string"}},
            "open": {"x-kubernetes-preserve-unknown-fields": true},
        },
        "required": ["missing"],
        "additionalProperties": {"type": "string"},
    });
    let found = violations(&schema);
    for expected in [
        "untyped: no `type`",
        "either: `anyOf` is not allowed",
        "referenced: `$ref` is not allowed",
        "list: an array needs one `items` schema",
        "both: `properties` and `additionalProperties` together",
        "(root): required \"missing\" is not a property",
        "(root): `additionalProperties` is not allowed at the root",
    ] {
        assert!(
            found.iter().any(|line| line.starts_with(expected)),
            "{expected}: {found:#?}"
        );
    }
    assert!(
        !found.iter().any(|line| line.starts_with("open")),
        "{found:#?}"
    );
}

/// The node at a field path (`spec.http[].timeout`) of a schema.
fn node<'a>(schema: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(schema, |node, part| {
        let (name, items) = part
            .strip_suffix("[]")
            .map_or((part, false), |name| (name, true));
        let field = &node["properties"][name];
        if items { &field["items"] } else { field }
    })
}

#[test]
fn custom_types_have_their_own_schemas() {
    let (_, _, _, virtual_service) = &schemas()[0];
    assert_eq!(
        node(virtual_service, "spec.http[].timeout")["type"],
        "string"
    );
    let percentage = node(virtual_service, "spec.http[].fault.abort.percentage");
    assert_eq!(percentage["type"], "object");
    assert_eq!(percentage["properties"]["value"]["maximum"], 100.0);
    for unimplemented in ["spec.tcp", "spec.exportTo", "spec.http[].corsPolicy"] {
        let open = node(virtual_service, unimplemented);
        assert_eq!(
            open["x-kubernetes-preserve-unknown-fields"], true,
            "{unimplemented}"
        );
        assert!(open.get("type").is_none(), "{unimplemented}: any value");
    }
    let closed = node(virtual_service, "spec.http[].route[]");
    assert!(closed.get("x-kubernetes-preserve-unknown-fields").is_none());
}

#[test]
fn no_defaults_that_the_api_server_would_write_into_stored_objects() {
    for (kind, version, _, schema) in schemas() {
        assert!(
            !schema.to_string().contains("\"default\""),
            "{kind} {version}"
        );
    }
}

#[test]
fn the_root_may_restrict_only_the_name_of_metadata() {
    let root = |metadata: Value| json!({"type": "object", "properties": {"metadata": metadata}});
    let name_only = root(json!({"type": "object", "properties": {"name": {"type": "string"}}}));
    assert_eq!(violations(&name_only), Vec::<String>::new());
    let labels = root(json!({"type": "object", "properties": {"labels": {"type": "object"}}}));
    let found = violations(&labels);
    assert!(
        found.iter().any(|line| line.starts_with("metadata: only")),
        "{found:#?}"
    );
    let found = violations(&json!({"type": "array", "items": {"type": "string"}}));
    assert!(
        found.contains(&"(root): the root must be `type: object`".to_owned()),
        "{found:#?}"
    );
}
