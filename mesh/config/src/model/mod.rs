//! The typed model of Istio's `networking.istio.io` resources, field for field.
//!
//! Struct and field names follow Istio's API (`HTTPRoute` → [`HttpRoute`], `trafficPolicy` →
//! `traffic_policy`); serde renames them back to Istio's YAML spelling. Every struct denies
//! unknown fields, so a typo such as `wieght` is an error instead of a silently ignored line.
//! Valid Istio fields that sailkit does not implement are kept as [`Unimplemented`] so they parse;
//! `validate` turns their presence into a warning.
//!
//! - `common`: pieces shared by several kinds (string matches, percentages, ports, metadata).
//! - `virtual_service`: VirtualService — how requests to a host are routed.
//! - `destination_rule`: DestinationRule — subsets and the traffic policy towards a host.
//! - `gateway`: Gateway — the ports and hosts an ingress proxy listens for.
//! - `service_entry`: ServiceEntry — hosts outside the registry (e.g. an external API).

mod common;
mod destination_rule;
mod gateway;
mod service_entry;
mod virtual_service;

pub use common::*;
pub use destination_rule::*;
pub use gateway::*;
pub use service_entry::*;
pub use virtual_service::*;

use std::sync::Arc;

use crate::yaml::{Position, SpanMap};

/// The API versions of `networking.istio.io` that sailkit reads (all share one schema for the
/// fields we model).
pub const API_VERSIONS: [&str; 3] = ["v1", "v1beta1", "v1alpha3"];

/// The API group every resource here belongs to.
pub const API_GROUP: &str = "networking.istio.io";

/// The four resource kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    VirtualService,
    DestinationRule,
    Gateway,
    ServiceEntry,
}

impl Kind {
    /// Istio's spelling of the kind, as in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::VirtualService => "VirtualService",
            Kind::DestinationRule => "DestinationRule",
            Kind::Gateway => "Gateway",
            Kind::ServiceEntry => "ServiceEntry",
        }
    }

    /// Parse Istio's spelling.
    pub fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::VirtualService,
            Kind::DestinationRule,
            Kind::Gateway,
            Kind::ServiceEntry,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

/// The `spec` of a resource, by kind. (A DestinationRule is boxed: it is much larger than the
/// others.)
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    VirtualService(VirtualService),
    DestinationRule(Box<DestinationRule>),
    Gateway(Gateway),
    ServiceEntry(ServiceEntry),
}

impl Spec {
    /// The kind this spec belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Spec::VirtualService(_) => Kind::VirtualService,
            Spec::DestinationRule(_) => Kind::DestinationRule,
            Spec::Gateway(_) => Kind::Gateway,
            Spec::ServiceEntry(_) => Kind::ServiceEntry,
        }
    }
}

/// Where a resource came from: file, the line its document starts on, and the positions of its
/// fields (so set-level checks can still point at a line).
#[derive(Debug, Clone)]
pub struct Source {
    pub file: Arc<str>,
    pub(crate) spans: Arc<SpanMap>,
}

impl Source {
    /// Where `path` (e.g. `spec.http[0]`) was written in the file.
    pub fn locate(&self, path: &str) -> Position {
        self.spans.locate(path)
    }

    /// Where the document starts.
    pub fn start(&self) -> Position {
        self.spans.start()
    }
}

/// One loaded, validated resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `networking.istio.io/v1`, `.../v1beta1` or `.../v1alpha3`.
    pub api_version: String,
    pub metadata: Metadata,
    pub spec: Spec,
    pub source: Source,
}

impl Resource {
    /// The resource's kind.
    pub fn kind(&self) -> Kind {
        self.spec.kind()
    }

    /// `metadata.namespace`, or `default` when unset (what `kubectl apply` would use).
    pub fn namespace(&self) -> &str {
        self.metadata
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE)
    }

    /// The hosts the resource is about, qualified with its namespace (see [`crate::host`]): a
    /// VirtualService's `hosts`, a DestinationRule's `host`, a ServiceEntry's `hosts`. A
    /// Gateway's server hosts name what it lets in, not a service: none.
    pub fn hosts(&self) -> Vec<String> {
        let written: &[String] = match &self.spec {
            Spec::VirtualService(vs) => &vs.hosts,
            Spec::DestinationRule(dr) => std::slice::from_ref(&dr.host),
            Spec::ServiceEntry(se) => &se.hosts,
            Spec::Gateway(_) => &[],
        };
        written
            .iter()
            .map(|host| crate::host::qualify(host, self.namespace()))
            .collect()
    }
}

/// The namespace a resource without `metadata.namespace` lands in.
pub const DEFAULT_NAMESPACE: &str = "default";
