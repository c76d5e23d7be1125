//! Compiled `match[]` entries: each string condition becomes a [`Matcher`], and a
//! [`RequestMatch`] holds when every condition it sets holds.

use std::collections::BTreeMap;

use regex_automata::meta::Regex;

use super::regexes::{UriHits, compile_regex};
use super::request::RequestView;
use crate::model::StringMatch;

/// A compiled string match.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Prefix(String),
    /// Anchored: the whole value must match, as in Istio.
    Regex(Regex),
    /// A URI regex, compiled with the other URI regexes of its VirtualService: pattern `n` of
    /// its [`UriRegexes`](super::UriRegexes) (see `table/regexes.rs`). Anchored, like
    /// [`Matcher::Regex`].
    UriRegex(usize),
    /// `{}`: the header or parameter only has to be present.
    Present,
}

impl Matcher {
    pub(super) fn compile(m: &StringMatch) -> Matcher {
        if let Some(exact) = &m.exact {
            Matcher::Exact(exact.clone())
        } else if let Some(prefix) = &m.prefix {
            Matcher::Prefix(prefix.clone())
        } else if let Some(regex) = &m.regex {
            // Validation compiled the unanchored pattern; anchoring cannot break it.
            match compile_regex(regex) {
                Some(regex) => Matcher::Regex(regex),
                None => Matcher::Exact(regex.clone()),
            }
        } else {
            Matcher::Present
        }
    }

    /// Does `value` match? A [`Matcher::UriRegex`] is answered by its VirtualService's
    /// [`UriRegexes`](super::UriRegexes) instead, and says no here.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(exact) => value == exact,
            Matcher::Prefix(prefix) => value.starts_with(prefix.as_str()),
            Matcher::Regex(regex) => regex.is_match(value),
            Matcher::UriRegex(_) => false,
            Matcher::Present => true,
        }
    }
}

/// One compiled `match[]` entry: every condition set must hold.
#[derive(Debug, Clone, Default)]
pub struct RequestMatch {
    pub uri: Option<Matcher>,
    pub method: Option<Matcher>,
    pub headers: Vec<(String, Matcher)>,
    pub without_headers: Vec<(String, Matcher)>,
    pub query_params: Vec<(String, Matcher)>,
    pub port: Option<u16>,
    pub source_labels: BTreeMap<String, String>,
    /// Qualified `namespace/name`, `mesh` for the sidecar; empty = any of the VirtualService's.
    pub gateways: Vec<String>,
    /// The entry as written, in one line (`uri prefix /api, headers end-user exact jason`), for
    /// people: what `/config_dump` shows.
    pub description: String,
}

impl RequestMatch {
    pub(super) fn matches(
        &self,
        request: &RequestView<'_>,
        gateway: &str,
        uri_hits: &UriHits<'_>,
    ) -> bool {
        self.uri.as_ref().is_none_or(|m| match m {
            Matcher::UriRegex(index) => uri_hits.contains(*index),
            other => other.matches(request.path),
        }) && self
            .method
            .as_ref()
            .is_none_or(|m| m.matches(request.method))
            && self.port.is_none_or(|port| port == request.port)
            && (self.gateways.is_empty() || self.gateways.iter().any(|g| g == gateway))
            && self
                .headers
                .iter()
                .all(|(name, m)| request.headers.header(name).is_some_and(|v| m.matches(v)))
            && !self
                .without_headers
                .iter()
                .any(|(name, m)| request.headers.header(name).is_some_and(|v| m.matches(v)))
            && self
                .query_params
                .iter()
                .all(|(name, m)| query_value(request.query, name).is_some_and(|v| m.matches(v)))
            && self
                .source_labels
                .iter()
                .all(|(k, v)| request.source_labels.get(k) == Some(v))
    }
}

fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}
