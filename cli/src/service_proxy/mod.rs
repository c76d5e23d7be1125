//! A service "VIP": one stable address for a service, spreading requests over its instances.
//!
//! ## What this stands in for
//! In Kubernetes, a Service gets a virtual IP (its ClusterIP) and a port. Clients only ever call
//! that address; kube-proxy, on every node, makes the kernel send each new *connection* to one of
//! the *ready* pods behind the Service (the Service's endpoints). Pods come and go, the address
//! stays. `sailkit up` gives each service such an address, on a port of 127.0.0.1, and this
//! module is the kube-proxy behind it.
//!
//! ## Why layer 7, once per request
//! kube-proxy works at layer 4: it picks a pod once per TCP connection and then only moves bytes.
//! Our services keep pooled keep-alive connections to their peers, so with per-connection
//! balancing a productpage would stay on whichever reviews instance its first connection
//! reached, and refreshing the page would show the same stars again and again. Here the proxy
//! speaks HTTP and picks an instance for every *request*, so even a pooled client spreads its
//! requests: refreshing the page cycles no stars (reviews-v1), black stars (v2), red stars (v3).
//! Telling this apart from a mesh, which also balances per request, is a later chapter.
//!
//! ## The life of a request (the phase names are the function names; a file a phase)
//! ```text
//!  client ──► [1 accept] ──► [2 pick] ──► [3 rewrite] ──► [4 forward] ──► instance
//!                              │                              │
//!                              └──── [5 rescue]: 503 / 502 / 400 ◄──┘
//! ```
//! 1. **accept** ([`serve`]): a connection to the VIP; HTTP/1.1 (or HTTP/2) is spoken on it.
//!    The shared `listener` crate accepts it, as it does for the services and the sidecars: a
//!    client that sends no request head in time, or stays idle too long, loses its connection,
//!    and past the cap on connections a new one is answered 503 (see [`Limits`]).
//! 2. **pick** (`ServiceProxy::pick`): round robin over the endpoints that are ready. One atomic
//!    add chooses the next one: no lock, whatever the number of requests in flight.
//! 3. **rewrite** (`upstream_request`): the request is addressed to the instance
//!    and the hop-by-hop headers, which describe only the connection they came on, are removed
//!    (by `mesh_proxy::headers::remove_hop_by_hop`, the sidecar's own rule: one implementation).
//!    Nothing is added: no `X-Forwarded-For`, the `Host` header is the client's.
//! 4. **forward** ([`ServiceProxy::forward`]): a pooled client with keep-alive connections to
//!    each instance sends it. Bodies are streamed, in both directions, never buffered.
//! 5. **rescue** (the `Either::Right` answers): no ready instance is a 503; an instance that
//!    cannot be reached is a 502. A *connect* error is tried once on the next instance, because
//!    then nothing was sent and the request can safely go elsewhere. A request whose own body
//!    is broken (a bad chunk, a client that hung up) is the client's fault, not the instance's:
//!    400. The answers name the service only; which instance failed, at which address and why
//!    goes to the log, never to the client.
//!
//! Readiness is not this module's business: like kube-proxy, which follows the endpoints that
//! the kubelet's probes mark ready, it only reads the flag that the launcher sets on each
//! [`Endpoint`] (ready once `/health` answered, not ready as soon as the process exits).
//!
//! The files:
//! - `serve.rs`: phase 1, the VIP's listener;
//! - `endpoint.rs`: one instance behind the VIP, and its ready flag;
//! - `forward.rs`: the proxy of one service, and one request through phases 2 to 5;
//! - `pick.rs`: phase 2, round robin over the ready endpoints;
//! - `rewrite.rs`: phase 3 and the way back of phase 4, the request and answer as each side sees them;
//! - `client_body.rs`: the client's body on its way, noting whether reading it failed;
//! - `rescue.rs`: phase 5, the answers of our own (503, 502, 400) and what goes to the log.

mod client_body;
mod endpoint;
mod forward;
mod pick;
mod rescue;
mod rewrite;
mod serve;

pub use client_body::ClientBody;
pub use endpoint::Endpoint;
pub use forward::{ResponseBody, ServiceProxy};
pub use listener::Limits;
pub use serve::{serve, serve_with};
