//! The control plane as the proxies and the `sailkit` command see it: real gRPC streams and
//! real HTTP requests to a control plane on port 0, its config in a temporary folder.

mod support;

mod binary;
mod config;
mod config_api;
mod crowd;
mod fake_api;
mod hostile;
mod kubernetes;
mod manifests;
mod mesh_overlay;
mod status;
mod streams;
