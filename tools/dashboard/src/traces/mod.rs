//! Traces: the OTLP receiver ([`receiver`]), the bounded store ([`store`]) and what the pages
//! make of it ([`view`]).

pub mod receiver;
pub mod store;
pub mod view;
