//! The traffic policy towards a destination: a DestinationRule's settings merged from general to
//! specific ([`RouteTable::destination_policy`]), and the labels that select a subset.

use std::collections::BTreeMap;

use super::RouteTable;
use crate::host;
use crate::model::{
    ClientTlsSettings, ConnectionPoolSettings, LoadBalancerSettings, OutlierDetection, Subset,
    TrafficPolicy,
};

/// The traffic policy for one destination after merging (see [`RouteTable::destination_policy`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedPolicy {
    pub load_balancer: Option<LoadBalancerSettings>,
    pub connection_pool: Option<ConnectionPoolSettings>,
    pub outlier_detection: Option<OutlierDetection>,
    pub tls: Option<ClientTlsSettings>,
}

impl ResolvedPolicy {
    fn overlay(&mut self, policy: &TrafficPolicy, port: Option<u16>) {
        self.apply(
            policy.load_balancer.as_ref(),
            policy.connection_pool.as_ref(),
            policy.outlier_detection.as_ref(),
            policy.tls.as_ref(),
        );
        let Some(port) = port else { return };
        if let Some(p) = policy
            .port_level_settings
            .iter()
            .find(|p| p.port.is_some_and(|s| s.number == port))
        {
            self.apply(
                p.load_balancer.as_ref(),
                p.connection_pool.as_ref(),
                p.outlier_detection.as_ref(),
                p.tls.as_ref(),
            );
        }
    }

    fn apply(
        &mut self,
        lb: Option<&LoadBalancerSettings>,
        pool: Option<&ConnectionPoolSettings>,
        outlier: Option<&OutlierDetection>,
        tls: Option<&ClientTlsSettings>,
    ) {
        // Istio overrides whole settings blocks, not single fields inside them.
        if let Some(lb) = lb {
            self.load_balancer = Some(lb.clone());
        }
        if let Some(pool) = pool {
            self.connection_pool = Some(pool.clone());
        }
        if let Some(outlier) = outlier {
            self.outlier_detection = Some(outlier.clone());
        }
        if let Some(tls) = tls {
            self.tls = Some(tls.clone());
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct CompiledDestinationRule {
    /// `namespace/name`, to say which DestinationRule a policy comes from.
    pub(super) id: String,
    pub(super) host: String,
    pub(super) policy: Option<TrafficPolicy>,
    pub(super) subsets: Vec<Subset>,
}

impl RouteTable {
    /// The traffic policy towards `host` (qualified, as in
    /// [`WeightedDestination::host`](super::WeightedDestination::host)), its `subset` and `port`,
    /// merged from general to specific: the DestinationRule's policy, its `portLevelSettings` for
    /// the port, the subset's policy, the subset's port-level settings.
    pub fn destination_policy(
        &self,
        host: &str,
        subset: Option<&str>,
        port: Option<u16>,
    ) -> ResolvedPolicy {
        let mut resolved = ResolvedPolicy::default();
        let Some(dr) = self.destination_rule(host) else {
            return resolved;
        };
        if let Some(policy) = &dr.policy {
            resolved.overlay(policy, port);
        }
        if let Some(policy) = subset
            .and_then(|name| dr.subsets.iter().find(|s| s.name == name))
            .and_then(|s| s.traffic_policy.as_ref())
        {
            resolved.overlay(policy, port);
        }
        resolved
    }

    /// The labels that select the instances of `subset` of `host`, if a DestinationRule defines it.
    pub fn subset_labels(&self, host: &str, subset: &str) -> Option<&BTreeMap<String, String>> {
        self.destination_rule(host)?
            .subsets
            .iter()
            .find(|s| s.name == subset)
            .map(|s| &s.labels)
    }

    /// The DestinationRule that applies to `host` (its `namespace/name`) and its subsets, if
    /// one does: the most specific host wins, as for [`RouteTable::destination_policy`].
    pub fn destination_rule_for(&self, host: &str) -> Option<(&str, &[Subset])> {
        self.destination_rule(host)
            .map(|dr| (dr.id.as_str(), dr.subsets.as_slice()))
    }

    fn destination_rule(&self, host: &str) -> Option<&CompiledDestinationRule> {
        let mut best: Option<(usize, &CompiledDestinationRule)> = None;
        for dr in &self.destination_rules {
            if let Some(score) = host::match_score(&dr.host, host)
                && best.is_none_or(|(b, _)| score > b)
            {
                best = Some((score, dr));
            }
        }
        best.map(|(_, dr)| dr)
    }
}
