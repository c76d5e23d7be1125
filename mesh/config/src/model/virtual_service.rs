//! VirtualService: the routing rules for requests addressed to one or more hosts.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::common::{Percent, PortSelector, StringMatch, Unimplemented};
use crate::duration::Duration;

/// `spec` of a VirtualService.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VirtualService {
    /// Hosts the rules apply to: short names (`reviews`), FQDNs, or wildcards (`*`, `*.example.com`).
    pub hosts: Vec<String>,
    /// Gateways (and/or the reserved `mesh`) the rules apply to; empty means `mesh` only.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// HTTP rules, tried in order: the first whose `match` fits wins.
    #[serde(default)]
    pub http: Vec<HttpRoute>,
    pub tcp: Option<Unimplemented>,
    pub tls: Option<Unimplemented>,
    pub export_to: Option<Unimplemented>,
}

/// One HTTP rule (Istio's `HTTPRoute`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRoute {
    pub name: Option<String>,
    /// Conditions, OR-ed together; an empty list matches every request.
    #[serde(default, rename = "match")]
    pub matches: Vec<HttpMatchRequest>,
    #[serde(default)]
    pub route: Vec<HttpRouteDestination>,
    pub redirect: Option<HttpRedirect>,
    pub rewrite: Option<HttpRewrite>,
    pub timeout: Option<Duration>,
    pub retries: Option<HttpRetry>,
    pub fault: Option<HttpFaultInjection>,
    pub mirror: Option<Destination>,
    pub mirror_percentage: Option<Percent>,
    /// Deprecated integer form of `mirrorPercentage`.
    pub mirror_percent: Option<u32>,
    pub headers: Option<Headers>,
    pub cors_policy: Option<Unimplemented>,
    pub mirrors: Option<Unimplemented>,
    pub delegate: Option<Unimplemented>,
    pub direct_response: Option<Unimplemented>,
}

/// One match condition (Istio's `HTTPMatchRequest`); all the fields set must hold.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpMatchRequest {
    pub name: Option<String>,
    pub uri: Option<StringMatch>,
    pub method: Option<StringMatch>,
    #[serde(default)]
    pub headers: BTreeMap<String, StringMatch>,
    #[serde(default)]
    pub query_params: BTreeMap<String, StringMatch>,
    #[serde(default)]
    pub without_headers: BTreeMap<String, StringMatch>,
    pub port: Option<u16>,
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// Restricts this match to some of the VirtualService's gateways.
    #[serde(default)]
    pub gateways: Vec<String>,
    pub scheme: Option<Unimplemented>,
    pub authority: Option<Unimplemented>,
    pub ignore_uri_case: Option<Unimplemented>,
    pub source_namespace: Option<Unimplemented>,
    pub stat_prefix: Option<Unimplemented>,
}

/// A destination with its share of traffic (Istio's `HTTPRouteDestination`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRouteDestination {
    pub destination: Destination,
    /// Share of traffic, 0..=100; with several destinations they must add up to 100.
    pub weight: Option<u32>,
    pub headers: Option<Headers>,
}

/// Where requests go: a host, optionally one of its subsets and a port.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Destination {
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<PortSelector>,
}

/// Header changes (Istio's `Headers`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Headers {
    pub request: Option<HeaderOperations>,
    pub response: Option<HeaderOperations>,
}

/// `set` overwrites, `add` appends, `remove` deletes.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderOperations {
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub add: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Istio's `HTTPRedirect`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRedirect {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub port: Option<u16>,
    pub scheme: Option<String>,
    /// HTTP status of the redirect; 301 when unset.
    pub redirect_code: Option<u16>,
    pub derive_port: Option<Unimplemented>,
}

/// Istio's `HTTPRewrite`: replace the matched URI prefix (or the whole exact URI), or the authority.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRewrite {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub uri_regex_rewrite: Option<Unimplemented>,
}

/// Istio's `HTTPRetry`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRetry {
    /// Retries allowed (not counting the first try); 0 disables retries.
    pub attempts: Option<u32>,
    pub per_try_timeout: Option<Duration>,
    /// Comma-separated conditions, e.g. `5xx,connect-failure,refused-stream`.
    pub retry_on: Option<String>,
    pub retry_remote_localities: Option<Unimplemented>,
    pub retry_ignore_previous_hosts: Option<Unimplemented>,
    pub backoff: Option<Unimplemented>,
}

/// Istio's `HTTPFaultInjection`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpFaultInjection {
    pub delay: Option<Delay>,
    pub abort: Option<Abort>,
}

/// Delay a share of requests before forwarding them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delay {
    pub fixed_delay: Option<Duration>,
    pub percentage: Option<Percent>,
    /// Deprecated integer form of `percentage`.
    pub percent: Option<u32>,
    pub exponential_delay: Option<Unimplemented>,
}

/// Answer a share of requests with an error instead of forwarding them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Abort {
    pub http_status: Option<u16>,
    pub percentage: Option<Percent>,
    /// Deprecated integer form of `percentage`.
    pub percent: Option<u32>,
    pub grpc_status: Option<Unimplemented>,
    pub http2_error: Option<Unimplemented>,
}
