//! Stage `retry`: try again when an attempt failed in a way worth retrying.
//!
//! The rule's `retries` give the number of *extra* attempts, a limit per attempt
//! (`perTryTimeout`, 504 `UT` when it ends the last attempt) and the conditions (`retryOn`):
//!
//! | condition        | retried when                                                    |
//! |------------------|-----------------------------------------------------------------|
//! | `5xx`            | any 5xx status, a connect failure, a reset, a per-try timeout   |
//! | `gateway-error`  | 502, 503, 504, a connect failure, a reset, a per-try timeout    |
//! | `connect-failure`| no connection could be opened (`UF`)                            |
//! | `reset`          | the connection broke before the headers (`UC`), or per-try timeout |
//! | `retriable-4xx`  | 409                                                             |
//! | `503` (a number) | that status                                                     |
//! | `refused-stream` | the upstream refused an HTTP/2 stream (`REFUSED_STREAM`, `UR`)  |
//!
//! **Never the caller's failures.** An attempt that failed because of the caller (a malformed
//! or cut-off request body, a caller too slow to send it) is not retried under any condition:
//! another attempt cannot fix the caller's request, and would only load the upstream again.
//!
//! **Default when the rule has no `retries`** (Istio's mesh default): 2 retries on
//! `connect-failure,refused-stream,503`. `retries: {attempts: 0}` turns retries off.
//!
//! Each retry waits a short, jittered, doubling back-off (25 ms, 50 ms, ... at most 250 ms) so
//! that a struggling upstream is not hammered in a tight loop. The `balance` stage prefers an
//! endpoint not tried yet, so a retry usually lands on another instance. When the last attempt
//! still fails in a retriable way, the flag `URX` says the retries were used up.
//!
//! **Retry budget**: before each retry the attempt is asked [`Attempt::may_retry`]; the outbound
//! side answers with the destination's `maxRetries` (see `circuit_breaker`), the number of
//! retries allowed in progress at once, or without one with the default budget (see
//! `retry_budget`: a share of the requests in progress). Over it, the retry is not made and the
//! last outcome is the answer: when an upstream is down for everyone, retries cannot multiply
//! its load.

use std::future::Future;
use std::time::Duration;

use http::Response;
use mesh_config::RetryPolicy;

use crate::error::{Culprit, ProxyError};
use crate::flags::{Flag, Flags};
use crate::stats::Counter;

/// One `retryOn` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    FiveXx,
    GatewayError,
    ConnectFailure,
    RefusedStream,
    Reset,
    Retriable4xx,
    Status(u16),
}

/// What the stage does for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Extra attempts after the first.
    pub retries: u32,
    pub per_try_timeout: Option<Duration>,
    conditions: Vec<Condition>,
}

impl Policy {
    /// The rule's policy, or the default when it has none (see the module doc).
    pub fn for_route(configured: Option<&RetryPolicy>) -> Policy {
        let Some(configured) = configured else {
            return Policy {
                retries: 2,
                per_try_timeout: None,
                conditions: vec![
                    Condition::ConnectFailure,
                    Condition::RefusedStream,
                    Condition::Status(503),
                ],
            };
        };
        let conditions = configured
            .retry_on
            .iter()
            .filter_map(|c| match c.as_str() {
                "5xx" => Some(Condition::FiveXx),
                "gateway-error" => Some(Condition::GatewayError),
                "connect-failure" => Some(Condition::ConnectFailure),
                "refused-stream" => Some(Condition::RefusedStream),
                "reset" => Some(Condition::Reset),
                "retriable-4xx" => Some(Condition::Retriable4xx),
                other => other.parse().ok().map(Condition::Status),
            })
            .collect();
        Policy {
            retries: configured.attempts,
            per_try_timeout: configured.per_try_timeout.filter(|t| !t.is_zero()),
            conditions,
        }
    }

    /// No retries: for requests whose body cannot be sent twice.
    pub fn none() -> Policy {
        Policy {
            retries: 0,
            per_try_timeout: None,
            conditions: Vec::new(),
        }
    }

    fn retriable<B>(&self, outcome: &Result<Response<B>, ProxyError>) -> bool {
        if let Err(error) = outcome
            && error.culprit() == Culprit::Downstream
        {
            return false;
        }
        self.conditions.iter().any(|c| match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                match c {
                    Condition::FiveXx => status >= 500,
                    Condition::GatewayError => (502..=504).contains(&status),
                    Condition::Retriable4xx => status == 409,
                    Condition::Status(s) => status == *s,
                    Condition::ConnectFailure | Condition::RefusedStream | Condition::Reset => {
                        false
                    }
                }
            }
            Err(error) => matches!(
                (c, error),
                (
                    Condition::FiveXx | Condition::GatewayError,
                    ProxyError::ConnectFailure
                        | ProxyError::UpstreamReset
                        | ProxyError::RefusedStream
                        | ProxyError::Timeout
                ) | (Condition::ConnectFailure, ProxyError::ConnectFailure)
                    | (Condition::RefusedStream, ProxyError::RefusedStream)
                    | (
                        Condition::Reset,
                        ProxyError::UpstreamReset | ProxyError::RefusedStream | ProxyError::Timeout
                    )
            ),
        })
    }
}

/// Back-off before retry number `n` (1-based): 25 ms doubling, at most 250 ms, with jitter.
fn backoff(n: u32) -> Duration {
    let base = 25u64
        .saturating_mul(1 << n.saturating_sub(1).min(4))
        .min(250);
    Duration::from_millis(fastrand::u64(base / 2..=base))
}

/// One try at the upstream; `run` calls it once per attempt.
pub trait Attempt {
    type Body;
    fn attempt(&mut self) -> impl Future<Output = Result<Response<Self::Body>, ProxyError>> + Send;

    /// Asked before each retry: may it start? (The retry budget; no limit by default.)
    fn may_retry(&mut self) -> bool {
        true
    }
}

/// Call `attempt` until it succeeds, fails in a way not worth retrying, or retries run out.
pub async fn run<A: Attempt>(
    policy: &Policy,
    flags: &mut Flags,
    retries: &Counter,
    attempt: &mut A,
) -> Result<Response<A::Body>, ProxyError> {
    let mut done = 0;
    loop {
        let outcome = match policy.per_try_timeout {
            None => attempt.attempt().await,
            Some(limit) => tokio::time::timeout(limit, attempt.attempt())
                .await
                .unwrap_or(Err(ProxyError::Timeout)),
        };
        if !policy.retriable(&outcome) {
            return outcome;
        }
        if done == policy.retries {
            if done > 0 {
                flags.insert(Flag::UpstreamRetryLimitExceeded);
            }
            return outcome;
        }
        if !attempt.may_retry() {
            return outcome;
        }
        done += 1;
        retries.increment();
        tokio::time::sleep(backoff(done)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Result<Response<()>, ProxyError> {
        let mut response = Response::new(());
        *response.status_mut() = http::StatusCode::from_u16(code).expect("valid status");
        Ok(response)
    }

    fn policy(retry_on: &str) -> Policy {
        Policy::for_route(Some(&RetryPolicy {
            attempts: 3,
            per_try_timeout: None,
            retry_on: retry_on.split(',').map(str::to_owned).collect(),
        }))
    }

    #[test]
    fn conditions() {
        let p = policy("5xx");
        assert!(p.retriable(&status(500)));
        assert!(p.retriable(&Err::<Response<()>, _>(ProxyError::ConnectFailure)));
        assert!(!p.retriable(&status(404)));
        let p = policy("gateway-error");
        assert!(p.retriable(&status(503)));
        assert!(!p.retriable(&status(500)));
        let p = policy("connect-failure");
        assert!(!p.retriable(&status(503)));
        assert!(p.retriable(&Err::<Response<()>, _>(ProxyError::ConnectFailure)));
        assert!(!p.retriable(&Err::<Response<()>, _>(ProxyError::UpstreamReset)));
        let p = policy("refused-stream");
        assert!(p.retriable(&Err::<Response<()>, _>(ProxyError::RefusedStream)));
        assert!(!p.retriable(&Err::<Response<()>, _>(ProxyError::UpstreamReset)));
        assert!(!p.retriable(&status(503)));
        let p = policy("retriable-4xx,502");
        assert!(p.retriable(&status(409)));
        assert!(p.retriable(&status(502)));
        assert!(!p.retriable(&status(503)));
    }

    #[test]
    fn the_callers_failures_are_never_retried() {
        for p in [
            policy("5xx,gateway-error,reset,connect-failure,refused-stream,400,408"),
            Policy::for_route(None),
        ] {
            for error in [
                ProxyError::DownstreamBody,
                ProxyError::DownstreamDisconnect,
                ProxyError::DownstreamTimeout,
            ] {
                assert!(!p.retriable(&Err::<Response<()>, _>(error)));
            }
        }
    }

    #[test]
    fn default_policy_is_two_retries_on_connect_failure_and_503() {
        let p = Policy::for_route(None);
        assert_eq!(p.retries, 2);
        assert!(p.retriable(&status(503)));
        assert!(!p.retriable(&status(500)));
        assert!(p.retriable(&Err::<Response<()>, _>(ProxyError::ConnectFailure)));
    }

    #[test]
    fn backoff_stays_short() {
        for n in 1..10 {
            assert!(backoff(n) <= Duration::from_millis(250));
        }
    }
}
