//! `mesh-control`: sailkit's control plane, a small istiod.
//!
//! The proxies do the work; the control plane tells them what to do. It knows two things: the
//! Istio config (a folder of YAML, admitted file by file as Istio's webhook would) and the
//! workloads (each proxy registers itself on connect). From them it builds a [`Snapshot`]
//! (the config files and every service's endpoints, named by a content hash), and pushes the
//! newest one to every proxy over one gRPC stream per proxy; the proxy ACKs or NACKs each
//! version. The protocol is `mesh/api/proto/sailkit/mesh/v1/mesh.proto`.
//!
//! # Module map, in the order data flows
//! - [`settings`]: the command line.
//! - [`config_source`]: the YAML folder: `load` (admission), `watch` (polling).
//! - [`registry`]: the connected proxies: `registration` (the `Register` message, checked),
//!   `sync` (the versions sent, ACKed and NACKed).
//! - [`snapshot`]: config + services → a versioned snapshot, encoded once.
//! - [`control_plane`]: the state all the parts share, and the newest snapshot.
//! - [`publish`]: the debounce: a burst of changes is one push.
//! - [`discovery`]: the proxies' gRPC stream: `inbound` (what they send), `outbound` (the
//!   snapshots), `ending` (how a stream ends), `server` (on the wire, one encoding shared).
//! - [`status`]: the Admin gRPC service (`ProxyStatus`), also served as JSON.
//! - [`admin`]: the admin HTTP endpoints; [`metrics`]: what `/metrics` shows.
//! - [`start`]: bind, read the config, serve, stop.
//!
//! [`Snapshot`]: mesh_api::v1::Snapshot

pub mod admin;
pub mod config_source;
pub mod control_plane;
pub mod discovery;
pub mod metrics;
pub mod publish;
pub mod registry;
pub mod settings;
pub mod snapshot;
pub mod start;
pub mod status;

pub use settings::Settings;
pub use start::{Bound, bind, run};
