//! How the route table compiles `regex` matches, and why it compiles a VirtualService's URI
//! regexes together.
//!
//! The regex engine (`regex-automata`'s meta regex, the one behind the `regex` crate) builds
//! several matchers per pattern and picks the fastest for each search. Per pattern that is
//! about 9 KB before the first search, plus a cache per pattern once requests reach it, and
//! in the proxy also an eagerly built DFA (the proxy's logging enables that engine), which
//! took seconds to build for 10,000 patterns. Routing only asks "does it match?", so:
//! - no fully built DFA, no one-pass DFA, no backtracker (the last two only serve capture
//!   groups); matching runs on the lazy DFA, which builds only the states requests reach;
//! - the URI regexes of one VirtualService, where a table with thousands of regex routes has
//!   them, are compiled into multi-pattern regexes of [`GROUP`] patterns each ([`UriRegexes`]):
//!   one search of the path says which patterns of a group match, one cache serves the group,
//!   and the fixed cost is paid per group, not per pattern. A group is searched at most once
//!   per request, when a rule first asks about one of its patterns ([`UriHits`]).
//!
//! Regexes on headers, query parameters and the method stay one regex each.

use std::cell::OnceCell;

use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::{Anchored, Input, MatchKind, PatternID, PatternSet};

/// What every route regex is built with (see the module doc).
fn config() -> meta::Config {
    Regex::config()
        .dfa(false)
        .onepass(false)
        .backtrack(false)
        // No capture slots at all. Besides being of no use here, slots cost memory per NFA
        // state and per pattern: for a set of 10,000 patterns, the NFA simulation's table
        // would take 2 slots per pattern in each of its 100,000 states, some 16 GB.
        .which_captures(WhichCaptures::None)
}

/// Istio's regexes match the whole value: `^(?:pattern)$`.
fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

/// One route regex, anchored, for a header, a query parameter or the method; `None` if it
/// does not compile (validation has said why).
pub(crate) fn compile_regex(pattern: &str) -> Option<Regex> {
    Regex::builder()
        .configure(config())
        .build(&anchored(pattern))
        .ok()
}

/// Why `pattern` is not a valid route regex, if it is not. Validation calls it, so a pattern
/// that passed validation compiles in the table. Only the NFA is built: that is where syntax
/// and size errors are found.
pub(crate) fn check_regex(pattern: &str) -> Result<(), String> {
    Regex::builder()
        .configure(config().hybrid(false))
        .build(pattern)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// How many URI regexes are compiled into one regex. One search then answers for all of them,
/// but a search costs more the more patterns it carries: measured with 10,000 patterns
/// (`examples/load_routes.rs --lookup`), one regex of them all took 2.7 ms a lookup (1.7 ms
/// even for a request the fifth rule matches, since every search runs through all of them);
/// in groups of 64, the lookup of the last rule takes 0.18 ms, and an early rule searches one
/// group only.
const GROUP: usize = 64;

/// The URI regexes of one VirtualService, compiled together in groups of [`GROUP`] patterns.
#[derive(Debug, Clone)]
pub struct UriRegexes {
    groups: Vec<Regex>,
}

impl UriRegexes {
    /// Compile `patterns` (as written in the file); pattern `n` is then number `n` for
    /// [`UriHits::contains`]. `None` when there are none, or if a group cannot be compiled
    /// (each pattern was checked alone, but a group has a size limit too): the caller then
    /// compiles them one by one.
    pub(crate) fn compile(patterns: &[&str]) -> Option<UriRegexes> {
        if patterns.is_empty() {
            return None;
        }
        // Every matching pattern is wanted, not only the leftmost-first one.
        let config = config().match_kind(MatchKind::All);
        let groups = patterns
            .chunks(GROUP)
            .map(|group| {
                let anchored: Vec<String> = group.iter().map(|p| anchored(p)).collect();
                Regex::builder()
                    .configure(config.clone())
                    .build_many(&anchored)
                    .ok()
            })
            .collect::<Option<Vec<Regex>>>()?;
        Some(UriRegexes { groups })
    }

    /// Which patterns of group `group` match the whole of `path`.
    fn matching(&self, group: usize, path: &str) -> PatternSet {
        let Some(regex) = self.groups.get(group) else {
            return PatternSet::new(0);
        };
        let mut set = PatternSet::new(regex.pattern_len());
        let input = Input::new(path).anchored(Anchored::Yes);
        regex.which_overlapping_matches(&input, &mut set);
        set
    }
}

/// For one request: which URI regexes of the VirtualService match its path, each group
/// searched the first time a rule asks about one of its patterns.
pub(crate) struct UriHits<'a> {
    regexes: Option<&'a UriRegexes>,
    path: &'a str,
    groups: OnceCell<Vec<OnceCell<PatternSet>>>,
}

impl<'a> UriHits<'a> {
    pub(crate) fn new(regexes: Option<&'a UriRegexes>, path: &'a str) -> UriHits<'a> {
        UriHits {
            regexes,
            path,
            groups: OnceCell::new(),
        }
    }

    /// Does URI regex number `index` match the path?
    pub(crate) fn contains(&self, index: usize) -> bool {
        let Some(regexes) = self.regexes else {
            return false;
        };
        let (group, within) = (index / GROUP, index % GROUP);
        let groups = self
            .groups
            .get_or_init(|| (0..regexes.groups.len()).map(|_| OnceCell::new()).collect());
        let (Some(matching), Ok(id)) = (groups.get(group), PatternID::new(within)) else {
            return false;
        };
        matching
            .get_or_init(|| regexes.matching(group, self.path))
            .contains(id)
    }
}
