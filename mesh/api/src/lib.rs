//! `mesh-api`: the protocol between the control plane (`mesh/control`) and the proxies
//! (`mesh/proxy`), generated from `proto/sailkit/mesh/v1/mesh.proto`, where every message and
//! field is explained. Both sides depend on this crate and never on each other, as Linkerd's
//! proxy and control plane share `linkerd2-proxy-api`.
//!
//! - [`v1::discovery_server`] / [`v1::discovery_client`]: the proxies' stream.
//! - [`v1::admin_server`] / [`v1::admin_client`]: what `sailkit proxy-status` asks.
//! - [`v1::config_server`] / [`v1::config_client`]: what `sailkit apply` and `sailkit delete`
//!   change.
//! - [`workload::default_name`]: a workload's name when its proxy gives none.

/// Version 1 of the protocol (`package sailkit.mesh.v1`).
pub mod v1 {
    // Generated code: its style is prost's and tonic's, not ours.
    #![allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
    tonic::include_proto!("sailkit.mesh.v1");
}

pub mod workload;
