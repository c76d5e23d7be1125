//! Name resolution in Rust, for every sailkit binary that connects to a host by name.
//!
//! The images ship statically linked binaries in `FROM scratch`. Static glibc cannot load the
//! NSS modules that `getaddrinfo` uses for names, so `details:9080` would not resolve there,
//! while the same binary on a laptop resolves it fine. So the clients never ask glibc: they ask
//! a [`Resolver`], which answers in this order, the way the C library would:
//!
//! 1. an IP literal is its own address (no lookup at all);
//! 2. `localhost` (and `*.localhost`) is the loopback address, always (RFC 6761), so a
//!    container without `/etc/hosts` still reaches its sidecar;
//! 3. `/etc/hosts` (Docker writes the container's own name there);
//! 4. the name servers of `/etc/resolv.conf` (Docker's embedded DNS, 127.0.0.11, in compose),
//!    with its `search` and `ndots`.
//!
//! The lookups themselves are [hickory](https://docs.rs/hickory-resolver)'s. This crate adds
//! the first two steps and the adapters each client needs: [`http_connector`] for hyper and
//! tonic (the proxy's and the CLI's gRPC channels), [`reqwest_resolver`] for reqwest, and [`Resolver::pin_url_host`] for sqlx, which connects to PostgreSQL by the
//! address this crate found.

mod connector;
mod names;
mod reqwest_adapter;

pub use connector::{HyperResolver, http_connector};
pub use names::{ResolveError, Resolver, lookup_blocking};
pub use reqwest_adapter::reqwest_resolver;
