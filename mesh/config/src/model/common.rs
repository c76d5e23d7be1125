//! Pieces of the Istio API shared by several resource kinds.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A valid Istio field that sailkit parses but does not act on (a warning says so). Its content
/// is kept as raw YAML data and not checked further.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Unimplemented(pub serde_json::Value);

/// Kubernetes object metadata (the parts that matter for Istio config).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Istio's `StringMatch`: one of `exact`, `prefix` or `regex` (RE2 syntax, whole-string match).
/// An empty match (`{}`) on a header or query parameter means "is present".
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StringMatch {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub regex: Option<String>,
}

/// Istio's `Percent`: `{value: 12.5}`, a share of requests from 0 to 100 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "PercentFields")]
pub struct Percent {
    pub value: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PercentFields {
    #[serde(default)]
    value: f64,
}

impl TryFrom<PercentFields> for Percent {
    type Error = String;
    fn try_from(fields: PercentFields) -> Result<Self, String> {
        if (0.0..=100.0).contains(&fields.value) {
            Ok(Percent {
                value: fields.value,
            })
        } else {
            Err(format!(
                "percentage value {} is outside 0..=100",
                fields.value
            ))
        }
    }
}

/// Istio's `PortSelector`: `{number: 9080}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortSelector {
    pub number: u16,
}
