//! A compiled `http[]` rule and what it carries: weighted destinations, retries, faults, the
//! mirror, and the compiled VirtualService that holds the rules.

use std::time::Duration as StdDuration;

use super::matcher::RequestMatch;
use super::regexes::UriRegexes;
use crate::model::{Headers, HttpRedirect, HttpRewrite};

/// A destination with its weight, ready to use.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedDestination {
    /// Fully qualified host (`reviews.default.svc.cluster.local`).
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<u16>,
    /// Share of traffic; the weights of a rule add up to 100.
    pub weight: u32,
    /// Header changes for requests sent to (and responses from) this destination.
    pub headers: Headers,
}

/// `retries`, with Istio's meaning: `attempts` retries after the first try.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub per_try_timeout: Option<StdDuration>,
    /// Conditions, split: `5xx`, `gateway-error`, `connect-failure`, `refused-stream`, `reset`,
    /// `retriable-4xx`, or a status code such as `503`.
    pub retry_on: Vec<String>,
}

/// A delay fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelayFault {
    pub delay: StdDuration,
    /// Share of requests delayed, 0..=100.
    pub percent: f64,
}

/// An abort fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbortFault {
    pub http_status: u16,
    /// Share of requests aborted, 0..=100.
    pub percent: f64,
}

/// `fault`: delay and/or abort.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultPolicy {
    pub delay: Option<DelayFault>,
    pub abort: Option<AbortFault>,
}

/// `mirror` + `mirrorPercentage`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<u16>,
    /// Share of requests copied, 0..=100 (100 when unset).
    pub percent: f64,
}

/// True for a share of requests: `roll` is uniform in `[0, 1)`, `percent` is 0..=100.
pub fn roll_hits(roll: f64, percent: f64) -> bool {
    roll * 100.0 < percent
}

/// One compiled `http[]` rule.
#[derive(Debug, Clone)]
pub struct HttpRule {
    /// Position in the VirtualService's `http` list.
    pub index: usize,
    pub name: Option<String>,
    /// OR-ed; empty matches every request.
    pub matches: Vec<RequestMatch>,
    pub destinations: Vec<WeightedDestination>,
    pub redirect: Option<HttpRedirect>,
    pub rewrite: Option<HttpRewrite>,
    pub timeout: Option<StdDuration>,
    pub retries: Option<RetryPolicy>,
    pub fault: Option<FaultPolicy>,
    pub mirror: Option<Mirror>,
    /// Header changes for every destination of the rule.
    pub headers: Headers,
}

impl HttpRule {
    /// Pick a destination by weight; `roll` is uniform in `[0, 1)`. `None` only for a redirect rule.
    pub fn choose(&self, roll: f64) -> Option<&WeightedDestination> {
        let total: u32 = self.destinations.iter().map(|d| d.weight).sum();
        let mut target = roll.clamp(0.0, 1.0) * f64::from(total);
        for destination in self.destinations.iter().filter(|d| d.weight > 0) {
            target -= f64::from(destination.weight);
            if target < 0.0 {
                return Some(destination);
            }
        }
        self.destinations
            .iter()
            .rev()
            .find(|d| d.weight > 0)
            .or(self.destinations.last())
    }
}

/// A compiled VirtualService.
#[derive(Debug, Clone)]
pub struct CompiledVirtualService {
    pub name: String,
    pub namespace: String,
    /// Qualified hosts.
    pub hosts: Vec<String>,
    /// Qualified `namespace/name` gateways, or `mesh`.
    pub gateways: Vec<String>,
    pub rules: Vec<HttpRule>,
    /// The URI regexes of `rules`, compiled together; `None` when there are none.
    pub uri_regexes: Option<UriRegexes>,
}
