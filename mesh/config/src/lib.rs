//! `mesh-config`: Istio's networking YAML, turned into a route table the sidecar can use.
//!
//! A learner writes the same VirtualService and DestinationRule files they would give Istio;
//! this crate reads them, says precisely what is wrong (file, line, column and field path), and
//! compiles the valid ones into an immutable [`RouteTable`]. The proxy (`mesh/proxy`) asks the
//! table where each request goes; the table never does I/O, so routing is pure and testable.
//! The crate knows nothing about the Bookinfo services: the mesh never depends on them.
//!
//! ```text
//! YAML text ──yaml──▶ tree + positions ──load──▶ model::Resource ──validate──▶ checked
//!                                                                     │
//!                                        table::compile ◀─────────────┘
//!                                              │
//!                                              ▼
//!                                RouteTable::route(&RequestView)
//! ```
//!
//! # Layout
//! - `yaml`: YAML → one tree per document, plus the line and column of every field path (public:
//!   `manifest-lint` reads Kubernetes manifests with it).
//! - `model`: the typed Istio API (VirtualService, DestinationRule, Gateway, ServiceEntry).
//! - `duration`: Istio durations (`"0.5s"`, `"100ms"`, `"1m"`).
//! - `load`: the pipeline per file: parse, skip non-networking documents, deserialize, validate.
//! - `validate`: the rules serde cannot express, warnings for what sailkit does not implement,
//!   and checks across a set of files.
//! - `diagnostics`: [`Diagnostic`] and [`Severity`], the errors-as-values every stage returns,
//!   and the `Report` that loading and validation record them in.
//! - `host`: how short names (`reviews`) and qualified names meet.
//! - `table`: [`compile`] and [`RouteTable`]: matching, weighted choice, merged traffic policy.
//! - `schema` (feature `schema`): the JSON Schemas of the types serde reads in its own way
//!   (durations, percentages, unimplemented fields), for the CRDs of mesh/crds.

pub mod diagnostics;
pub mod duration;
pub mod host;
pub mod load;
pub mod model;
#[cfg(feature = "schema")]
mod schema;
pub mod table;
pub mod validate;
pub mod version;
pub mod yaml;

pub use diagnostics::{Diagnostic, Severity, has_errors};
pub use duration::Duration;
pub use load::{Loaded, load_file, load_files, load_str};
pub use model::{Kind, Resource, Spec};
pub use table::{
    AbortFault, DelayFault, FaultPolicy, HeaderSource, HttpRule, Lookup, Mirror, RequestView,
    ResolvedPolicy, RetryPolicy, RouteDecision, RouteTable, WeightedDestination, compile,
    compile_in, roll_hits,
};
pub use version::config_version;
pub use yaml::Position;
