//! Lookup: which VirtualService and which of its rules a request takes ([`RouteTable::lookup`]).

use super::RouteTable;
use super::gateway::qualify_gateway;
use super::regexes::UriHits;
use super::request::RequestView;
use super::rule::{CompiledVirtualService, HttpRule};
use crate::host;

/// The answer to "where does this request go?".
#[derive(Debug, Clone, Copy)]
pub struct RouteDecision<'a> {
    pub virtual_service: &'a CompiledVirtualService,
    /// The winning rule; `rule.index` is its place in `http[]`.
    pub rule: &'a HttpRule,
}

/// The outcome of a lookup, keeping apart "no VirtualService" (send to the host as addressed)
/// and "a VirtualService but no rule matched" (Istio answers 404).
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Matched(RouteDecision<'a>),
    NoRuleMatched(&'a CompiledVirtualService),
    NoVirtualService,
}

impl RouteTable {
    /// Route a request: the winning rule, or `None` when no VirtualService applies or none of
    /// its rules matched (use [`RouteTable::lookup`] to tell those apart).
    pub fn route(&self, request: &RequestView<'_>) -> Option<RouteDecision<'_>> {
        match self.lookup(request) {
            Lookup::Matched(decision) => Some(decision),
            _ => None,
        }
    }

    /// Route a request, saying why when nothing matched.
    pub fn lookup(&self, request: &RequestView<'_>) -> Lookup<'_> {
        let candidates = host::request_candidates(request.host, &self.namespace);
        self.lookup_with_candidates(request, &candidates)
    }

    /// [`RouteTable::lookup`], with the request host's candidate names already worked out
    /// (`host::request_candidates(request.host, namespace)`): they depend on the host alone, so
    /// a caller that sees the same hosts again and again can keep them.
    pub fn lookup_with_candidates(
        &self,
        request: &RequestView<'_>,
        candidates: &[String],
    ) -> Lookup<'_> {
        let gateway: std::borrow::Cow<'_, str> = match request.gateway {
            None => "mesh".into(),
            Some(g) => qualify_gateway(g, &self.namespace).into(),
        };
        let gateway = gateway.as_ref();
        // Through a gateway, only the hosts its Gateway's servers list come in at all.
        if request.gateway.is_some() && !self.gateway_admits(gateway, request.port, candidates) {
            return Lookup::NoVirtualService;
        }
        let mut best: Option<(usize, &CompiledVirtualService)> = None;
        for vs in self
            .virtual_services
            .iter()
            .filter(|vs| vs.gateways.iter().any(|g| g == gateway))
        {
            let score = vs
                .hosts
                .iter()
                .flat_map(|pattern| {
                    candidates
                        .iter()
                        .filter_map(move |c| host::match_score(pattern, c))
                })
                .max();
            if let Some(score) = score
                && best.is_none_or(|(b, _)| score > b)
            {
                best = Some((score, vs));
            }
        }
        let Some((_, vs)) = best else {
            return Lookup::NoVirtualService;
        };
        let uri_hits = UriHits::new(vs.uri_regexes.as_ref(), request.path);
        let rule = vs.rules.iter().find(|rule| {
            rule.matches.is_empty()
                || rule
                    .matches
                    .iter()
                    .any(|m| m.matches(request, gateway, &uri_hits))
        });
        match rule {
            Some(rule) => Lookup::Matched(RouteDecision {
                virtual_service: vs,
                rule,
            }),
            None => Lookup::NoRuleMatched(vs),
        }
    }
}
