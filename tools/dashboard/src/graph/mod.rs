//! The service graph: its model ([`model`], also `/api/graph`'s JSON) and its drawing
//! ([`layout`]).

pub mod layout;
pub mod model;
