//! DestinationRule: subsets of a host and the traffic policy used once routing chose it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::common::{PortSelector, Unimplemented};
use crate::duration::Duration;

/// `spec` of a DestinationRule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationRule {
    pub host: String,
    pub traffic_policy: Option<TrafficPolicy>,
    #[serde(default)]
    pub subsets: Vec<Subset>,
    pub export_to: Option<Unimplemented>,
    pub workload_selector: Option<Unimplemented>,
}

/// A named group of a host's instances, selected by labels (usually `version`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subset {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Overrides the host-level policy, field by field (`loadBalancer`, `connectionPool`, ...).
    pub traffic_policy: Option<TrafficPolicy>,
}

/// Istio's `TrafficPolicy`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficPolicy {
    pub load_balancer: Option<LoadBalancerSettings>,
    pub connection_pool: Option<ConnectionPoolSettings>,
    pub outlier_detection: Option<OutlierDetection>,
    pub tls: Option<ClientTlsSettings>,
    #[serde(default)]
    pub port_level_settings: Vec<PortTrafficPolicy>,
    pub tunnel: Option<Unimplemented>,
    pub proxy_protocol: Option<Unimplemented>,
}

/// The same settings for one port (Istio's `TrafficPolicy.PortTrafficPolicy`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortTrafficPolicy {
    pub port: Option<PortSelector>,
    pub load_balancer: Option<LoadBalancerSettings>,
    pub connection_pool: Option<ConnectionPoolSettings>,
    pub outlier_detection: Option<OutlierDetection>,
    pub tls: Option<ClientTlsSettings>,
}

/// Istio's `LoadBalancerSettings`: `simple` or `consistentHash`, not both.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerSettings {
    pub simple: Option<SimpleLb>,
    pub consistent_hash: Option<ConsistentHashLb>,
    pub locality_lb_setting: Option<Unimplemented>,
    pub warmup_duration_secs: Option<Unimplemented>,
    pub warmup: Option<Unimplemented>,
}

/// Istio's `LoadBalancerSettings.SimpleLB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SimpleLb {
    Unspecified,
    /// Deprecated alias of `LEAST_REQUEST`.
    LeastConn,
    Random,
    Passthrough,
    RoundRobin,
    LeastRequest,
}

/// Istio's `ConsistentHashLB`: exactly one hash key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsistentHashLb {
    pub http_header_name: Option<String>,
    pub http_cookie: Option<HttpCookie>,
    pub use_source_ip: Option<bool>,
    pub http_query_parameter_name: Option<Unimplemented>,
    pub ring_hash: Option<Unimplemented>,
    pub maglev: Option<Unimplemented>,
    pub minimum_ring_size: Option<Unimplemented>,
}

/// Hash on a cookie; with a `ttl` the proxy would set it when missing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpCookie {
    pub name: String,
    pub path: Option<String>,
    pub ttl: Option<Duration>,
}

/// Istio's `ConnectionPoolSettings`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionPoolSettings {
    pub tcp: Option<TcpSettings>,
    pub http: Option<HttpSettings>,
}

/// Connection-level limits.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpSettings {
    pub max_connections: Option<u32>,
    pub connect_timeout: Option<Duration>,
    pub tcp_keepalive: Option<Unimplemented>,
    pub max_connection_duration: Option<Unimplemented>,
    pub idle_timeout: Option<Unimplemented>,
}

/// Request-level limits.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpSettings {
    #[serde(rename = "http1MaxPendingRequests")]
    pub http1_max_pending_requests: Option<u32>,
    #[serde(rename = "http2MaxRequests")]
    pub http2_max_requests: Option<u32>,
    pub max_requests_per_connection: Option<u32>,
    pub max_retries: Option<u32>,
    pub idle_timeout: Option<Duration>,
    pub h2_upgrade_policy: Option<Unimplemented>,
    pub use_client_protocol: Option<Unimplemented>,
    pub max_concurrent_streams: Option<Unimplemented>,
}

/// Istio's `OutlierDetection`: eject instances that keep failing.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutlierDetection {
    #[serde(rename = "consecutive5xxErrors")]
    pub consecutive_5xx_errors: Option<u32>,
    pub consecutive_gateway_errors: Option<u32>,
    pub interval: Option<Duration>,
    pub base_ejection_time: Option<Duration>,
    pub max_ejection_percent: Option<u32>,
    pub min_health_percent: Option<u32>,
    pub consecutive_errors: Option<Unimplemented>,
    pub split_external_local_origin_errors: Option<Unimplemented>,
    pub consecutive_local_origin_failures: Option<Unimplemented>,
}

/// Istio's `ClientTLSSettings`; only `mode` is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTlsSettings {
    pub mode: Option<TlsMode>,
    pub client_certificate: Option<Unimplemented>,
    pub private_key: Option<Unimplemented>,
    pub ca_certificates: Option<Unimplemented>,
    pub credential_name: Option<Unimplemented>,
    pub subject_alt_names: Option<Unimplemented>,
    pub sni: Option<Unimplemented>,
    pub insecure_skip_verify: Option<Unimplemented>,
    pub ca_crl: Option<Unimplemented>,
}

/// Istio's `ClientTLSSettings.TLSmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TlsMode {
    Disable,
    Simple,
    Mutual,
    IstioMutual,
}
