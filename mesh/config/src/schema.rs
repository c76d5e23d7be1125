//! JSON Schemas for the types whose YAML form serde cannot describe by itself (the `schema`
//! feature; mesh/crds turns the model's schemas into CustomResourceDefinitions).
//!
//! The derived schemas cover the plain structs and enums. These three are written by hand
//! because their serde form is custom: a duration is a string with a unit, a percentage an
//! object checked by `TryFrom`, and an unimplemented field accepts whatever Istio accepts.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::duration::Duration;
use crate::model::{Percent, Unimplemented};

/// `JsonSchema` for `$type`: always written in place (a CRD schema may not refer to another),
/// under `$name`, as the JSON `$schema`.
macro_rules! inline_schema {
    ($type:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $type {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

inline_schema!(Duration, "Duration", {
    "type": "string",
    "description": "A duration with its unit, such as `1.5s`, `100ms` or `1m`."
});

inline_schema!(Percent, "Percent", {
    "type": "object",
    "description": "A share of requests: `{value: 12.5}`, from 0 to 100.",
    "properties": {
        "value": { "type": "number", "format": "double", "minimum": 0.0, "maximum": 100.0 }
    }
});

// Any value, kept as written. The cluster stores what Istio would accept here, and sailkit's
// own loader then names the field it does not implement; a closed schema would instead make
// `kubectl apply` refuse a valid Istio file with a message that does not say why.
inline_schema!(Unimplemented, "Unimplemented", {
    "description": "Valid Istio that sailkit does not implement: stored as written.",
    "x-kubernetes-preserve-unknown-fields": true
});
