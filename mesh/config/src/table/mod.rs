//! The route table: validated resources compiled into plain data that answers "where does this
//! request go, and how?" without any I/O.
//!
//! [`compile`] does the work once per config change: hosts are qualified (see `host`), regexes
//! compiled, defaults filled in (a lone destination gets weight 100, a fault without a
//! percentage applies to every request), deprecated integer percentages turned into `f64`s. The
//! result is immutable: the proxy swaps in a new table when config changes, and a lookup never
//! waits for anything.
//!
//! Lookup ([`RouteTable::route`]):
//! 1. the request's host gives candidate names (`host::request_candidates`);
//! 2. through a gateway, the Gateway resource must exist and one of its servers on the
//!    gateway's port (`RequestView::port`) must list the host in its `hosts`; otherwise nothing
//!    routes;
//! 3. among VirtualServices bound to the request's gateway (`None` = the sidecar mesh), the one
//!    whose host matches most specifically wins (exact name, then longest wildcard; ties: first
//!    loaded);
//! 4. its `http[]` rules are tried in order; the first rule with a matching `match` entry (or no
//!    `match` at all) wins.
//!
//! Choosing among weighted destinations takes the random number as an argument
//! ([`HttpRule::choose`]), so tests are deterministic and the proxy owns its randomness.
//!
//! # Layout
//! - `request`: [`RequestView`] and [`HeaderSource`], what a lookup reads from a request.
//! - `matcher`: compiled `match[]` entries ([`Matcher`], [`RequestMatch`]).
//! - `rule`: a compiled `http[]` rule ([`HttpRule`]) and what it carries.
//! - `compile`: [`compile`] and [`compile_in`], resources to table.
//! - `lookup`: [`RouteTable::lookup`] and [`RouteTable::route`].
//! - `gateway`: what a gateway lets in.
//! - `policy`: [`RouteTable::destination_policy`], a DestinationRule's settings merged.
//! - `regexes`: how `regex` matches are compiled, URI regexes in groups.
//! - `describe`: a match entry in one line, for `/config_dump`.

use crate::model::{Gateway, ServiceEntry};

mod compile;
mod describe;
mod gateway;
mod lookup;
mod matcher;
mod policy;
mod regexes;
mod request;
mod rule;

pub use compile::{compile, compile_in};
pub use lookup::{Lookup, RouteDecision};
pub use matcher::{Matcher, RequestMatch};
pub use policy::ResolvedPolicy;
pub use regexes::UriRegexes;
pub(crate) use regexes::check_regex;
pub use request::{HeaderSource, RequestView};
pub use rule::{
    AbortFault, CompiledVirtualService, DelayFault, FaultPolicy, HttpRule, Mirror, RetryPolicy,
    WeightedDestination, roll_hits,
};

use gateway::GatewayHost;
use policy::CompiledDestinationRule;

/// The immutable result of [`compile`].
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    namespace: String,
    virtual_services: Vec<CompiledVirtualService>,
    destination_rules: Vec<CompiledDestinationRule>,
    gateways: Vec<(String, Gateway)>,
    /// Every Gateway server's host, compiled once: what a gateway lets in (see
    /// [`RouteTable::gateway_admits`]).
    gateway_hosts: Vec<GatewayHost>,
    service_entries: Vec<(String, ServiceEntry)>,
}

impl RouteTable {
    /// Every compiled VirtualService, in load order.
    pub fn virtual_services(&self) -> &[CompiledVirtualService] {
        &self.virtual_services
    }

    /// Gateways by `namespace/name`.
    pub fn gateways(&self) -> &[(String, Gateway)] {
        &self.gateways
    }

    /// ServiceEntries by `namespace/name`.
    pub fn service_entries(&self) -> &[(String, ServiceEntry)] {
        &self.service_entries
    }
}
