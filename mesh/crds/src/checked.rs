//! [`Checked`]: a spec as the cluster stores it, together with its mesh-config model.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A spec read through mesh-config's model (so every field sailkit checks is checked, with its
/// path in the error), keeping the document as written.
///
/// The model types only deserialize: they are read from YAML, never written. Keeping the raw
/// value is what lets a typed object serialize back exactly as it was read, which is also what
/// the cluster stores; and the schema is the model's own, so the CRD and the loader cannot drift.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<T> {
    pub model: T,
    pub raw: Value,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Checked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        let model = serde_path_to_error::deserialize(&raw)
            .map_err(|error| D::Error::custom(format!("{}: {}", error.path(), error.inner())))?;
        Ok(Checked { model, raw })
    }
}

impl<T> Serialize for Checked<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for Checked<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}
