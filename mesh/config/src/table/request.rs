//! What routing looks at in a request: [`RequestView`], borrowed from the caller's request, and
//! [`HeaderSource`], so the table reads headers from whatever map the caller has.

use std::collections::BTreeMap;

/// Header lookup for matching: implement it for whatever header map the caller has.
/// `name` is lowercase; implementations compare names case-insensitively.
pub trait HeaderSource {
    /// The first value of header `name`, if present and valid text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderSource for [(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
}

impl HeaderSource for &[(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        (**self).header(name)
    }
}

impl<const N: usize> HeaderSource for [(&str, &str); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl HeaderSource for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What routing looks at in a request. Borrowed, so building one costs nothing.
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    /// `Host`/`:authority`, with or without a port.
    pub host: &'a str,
    /// The port the request was addressed to (for `match[].port`); through a gateway, the
    /// gateway's port, which also picks the Gateway's servers.
    pub port: u16,
    pub method: &'a str,
    /// Path without the query string.
    pub path: &'a str,
    /// Raw query string (`a=1&b=2`), without `?`; values are compared as written (not decoded).
    pub query: &'a str,
    pub headers: &'a dyn HeaderSource,
    /// Labels of the calling workload (for `match[].sourceLabels`).
    pub source_labels: &'a BTreeMap<String, String>,
    /// The gateway the request came through, as `name` or `namespace/name`; `None` for a sidecar.
    pub gateway: Option<&'a str>,
}
