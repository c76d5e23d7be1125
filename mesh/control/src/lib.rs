//! `mesh-control`: sailkit's control plane, a small istiod.
//!
//! The proxies do the work; the control plane tells them what to do. It knows two things: the
//! Istio config (a folder of YAML, or on Kubernetes the custom resources, admitted one by one as
//! Istio's webhook would) and the workloads (each proxy registers itself on connect; on
//! Kubernetes the EndpointSlices add theirs). From them it builds a [`Snapshot`]
//! (the config files and every service's endpoints, named by a content hash), and pushes the
//! newest one to every proxy over one gRPC stream per proxy; the proxy ACKs or NACKs each
//! version. The protocol is `mesh/api/proto/sailkit/mesh/v1/mesh.proto`.
//!
//! # Module map, in the order data flows
//! - [`settings`]: the command line.
//! - [`config_source`]: the YAML folder: `load` (admission), `watch` (polling), `store` (a
//!   change checked with what stays, then written whole: `sailkit apply` and `delete`).
//! - [`kubernetes`]: with `--kubernetes`, the config (Istio's custom resources) and the
//!   workloads (Services, EndpointSlices, Pods) from the API server, through kube-rs.
//! - [`registry`]: the connected proxies: `registration` (the `Register` message, checked),
//!   `sync` (the versions sent, ACKed and NACKed).
//! - [`services`]: the registrations and the discovered endpoints as one list of services.
//! - [`snapshot`]: config + services → a versioned snapshot, encoded once.
//! - [`control_plane`]: the state all the parts share, and the newest snapshot.
//! - [`publish`]: the debounce: a burst of changes is one push.
//! - [`discovery`]: the proxies' gRPC stream: `inbound` (what they send), `outbound` (the
//!   snapshots), `ending` (how a stream ends), `server` (on the wire, one encoding shared).
//! - [`status`]: the Admin gRPC service (`ProxyStatus`), also served as JSON.
//! - [`config_api`]: the Config gRPC service (`Apply`, `Delete`, `List`) over the store.
//! - [`admin`]: the admin HTTP endpoints; [`metrics`]: what `/metrics` shows.
//! - [`start`]: bind, read the config, serve, stop.
//!
//! [`Snapshot`]: mesh_api::v1::Snapshot

pub mod admin;
pub mod config_api;
pub mod config_source;
pub mod control_plane;
pub mod discovery;
pub mod kubernetes;
pub mod metrics;
pub mod publish;
pub mod registry;
pub mod services;
pub mod settings;
pub mod snapshot;
pub mod start;
pub mod status;

pub use settings::Settings;
pub use start::{Bound, bind, bind_with_kubernetes, run};
