//! Gateway: what an ingress (or egress) proxy listens for — ports, protocols and hosts.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::common::Unimplemented;

/// `spec` of a Gateway.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gateway {
    /// Labels of the proxy workloads this gateway configures (e.g. `istio: ingressgateway`).
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    pub servers: Vec<Server>,
}

/// One listener of a Gateway.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Server {
    pub port: ServerPort,
    pub hosts: Vec<String>,
    pub name: Option<String>,
    pub bind: Option<Unimplemented>,
    pub tls: Option<Unimplemented>,
    pub default_endpoint: Option<Unimplemented>,
}

/// Istio's `Port`: number, protocol (`HTTP`, `HTTPS`, `GRPC`, `HTTP2`, `TCP`, `TLS`...) and name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerPort {
    pub number: u16,
    pub protocol: String,
    pub name: Option<String>,
    pub target_port: Option<u16>,
}
