//! The one error type of the proxy: every way a request can fail, with who failed.
//!
//! Stages return [`ProxyError`]; none of them builds an error response itself. The single place
//! that turns an error into what the caller sees is `rescue`, so the status, the response flag
//! and the wording stay consistent (the same discipline as an Envoy "local reply").

use http::StatusCode;

use crate::body::BodyState;
use crate::flags::Flag;

/// Who caused a failure, in the spirit of Envoy's and pingora's error sources: the application
/// that sent the request (downstream), the service it was going to (upstream), or the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    Downstream,
    Upstream,
    Proxy,
}

impl Culprit {
    pub fn as_str(self) -> &'static str {
        match self {
            Culprit::Downstream => "downstream",
            Culprit::Upstream => "upstream",
            Culprit::Proxy => "proxy",
        }
    }
}

/// Every failure of a request's life. The doc of each variant gives its status and flag.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    /// 400 `DPE`: the request names no host (no absolute URI, no `Host` header).
    #[error("downstream protocol error: the request names no host")]
    NoHost,
    /// 400 `DPE`: the caller's request body is malformed (a chunk size that is not
    /// hexadecimal, say). The connection is closed after the answer, as Envoy does: the bytes
    /// after a broken body cannot be trusted to start the next request.
    #[error("downstream protocol error: the request body is malformed")]
    DownstreamBody,
    /// `DC`: the caller went away (closed or reset its connection or stream) before its request
    /// body was complete. Nobody is left to read an answer; if a half-closed caller still is,
    /// it gets 400, and the access log shows status 0, as Envoy's does.
    #[error("downstream connection termination: the request body ended before it was complete")]
    DownstreamDisconnect,
    /// 408: the route's `timeout` (or a `perTryTimeout`) ran out while the proxy was waiting
    /// for the caller to send more of its body, not for the upstream. Envoy's route timeout
    /// only starts once the request is complete, so a slow caller meets Envoy's request
    /// timeout instead, which is this answer.
    #[error("request timeout: the request body did not arrive in time")]
    DownstreamTimeout,
    /// 503 `UH`: no route table or no registry has loaded yet (see `/ready`).
    #[error("no healthy upstream: the proxy has not loaded its config and registry yet")]
    NotReady,
    /// 503 `UH`, inbound side: the local application's address is not known yet (its
    /// `--app-addr-file` has not appeared, or never held an address).
    #[error(
        "no healthy upstream: the local application has not announced its address yet (see /ready on the admin port)"
    )]
    AppUnknown,
    /// 404 `NR`: a VirtualService owns the host but none of its `http[]` rules matched.
    #[error("route not found")]
    NoRouteMatched,
    /// 503 `NC`: the host, or the subset a route names, is unknown to the registry or the
    /// DestinationRules.
    #[error("no cluster found for {0}")]
    NoCluster(String),
    /// 503 `UH`: the destination exists but has no endpoint to send to.
    #[error("no healthy upstream")]
    NoHealthyUpstream,
    /// 501: valid config that the proxy does not carry out (a rule with neither `route` nor
    /// `redirect`, which validation already refuses).
    #[error("not implemented by the sailkit proxy yet: {0}")]
    Unsupported(&'static str),
    /// The status of the `fault.abort` rule, `FI`: the request never left the proxy.
    #[error("fault filter abort")]
    FaultAbort(StatusCode),
    /// 504 `UT`: the route `timeout` (or the last `perTryTimeout`) ran out.
    #[error("upstream request timeout")]
    Timeout,
    /// 503 `UO`: the destination's `connectionPool` limits are reached (every connection busy
    /// and the waiting room full, or too many requests in flight): refused without waiting.
    #[error("upstream connect error or disconnect/reset before headers. reset reason: overflow")]
    Overflow,
    /// 503 `UF`: no connection could be opened to the chosen endpoint.
    #[error(
        "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
    )]
    ConnectFailure,
    /// 503 `UC`: the connection broke before the response headers arrived.
    #[error(
        "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
    )]
    UpstreamReset,
    /// 503 `UR`: the upstream reset the HTTP/2 stream with `REFUSED_STREAM`: it did not
    /// process the request, so it is always safe to try again (`retryOn: refused-stream`).
    #[error(
        "upstream connect error or disconnect/reset before headers. reset reason: refused stream reset"
    )]
    RefusedStream,
}

impl ProxyError {
    /// The caller's failure, when the caller's body broke (`None` while it is whole so far).
    pub fn of_caller_body(state: BodyState) -> Option<ProxyError> {
        match state {
            BodyState::Malformed => Some(ProxyError::DownstreamBody),
            BodyState::Disconnected => Some(ProxyError::DownstreamDisconnect),
            BodyState::Reading | BodyState::WaitingForCaller | BodyState::Ended => None,
        }
    }

    /// The status the caller receives.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoHost | ProxyError::DownstreamBody | ProxyError::DownstreamDisconnect => {
                StatusCode::BAD_REQUEST
            }
            ProxyError::DownstreamTimeout => StatusCode::REQUEST_TIMEOUT,
            ProxyError::NoRouteMatched => StatusCode::NOT_FOUND,
            ProxyError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            ProxyError::FaultAbort(status) => *status,
            ProxyError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::NoCluster(_)
            | ProxyError::NoHealthyUpstream
            | ProxyError::NotReady
            | ProxyError::AppUnknown
            | ProxyError::Overflow
            | ProxyError::ConnectFailure
            | ProxyError::UpstreamReset
            | ProxyError::RefusedStream => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Envoy's response flag for the failure (see [`crate::flags`]).
    pub fn flag(&self) -> Option<Flag> {
        Some(match self {
            ProxyError::NoHost | ProxyError::DownstreamBody => Flag::DownstreamProtocolError,
            ProxyError::DownstreamDisconnect => Flag::DownstreamConnectionTermination,
            ProxyError::NoRouteMatched => Flag::NoRoute,
            ProxyError::NoCluster(_) => Flag::NoCluster,
            ProxyError::NoHealthyUpstream | ProxyError::NotReady | ProxyError::AppUnknown => {
                Flag::NoHealthyUpstream
            }
            ProxyError::Unsupported(_) | ProxyError::DownstreamTimeout => return None,
            ProxyError::FaultAbort(_) => Flag::FaultInjected,
            ProxyError::Timeout => Flag::UpstreamRequestTimeout,
            ProxyError::Overflow => Flag::UpstreamOverflow,
            ProxyError::ConnectFailure => Flag::UpstreamConnectionFailure,
            ProxyError::UpstreamReset => Flag::UpstreamConnectionTermination,
            ProxyError::RefusedStream => Flag::UpstreamRemoteReset,
        })
    }

    /// Who failed. A downstream failure is never retried and never counts against an endpoint
    /// (`retry`, `outlier`): the upstream did nothing wrong.
    pub fn culprit(&self) -> Culprit {
        match self {
            ProxyError::NoHost
            | ProxyError::DownstreamBody
            | ProxyError::DownstreamDisconnect
            | ProxyError::DownstreamTimeout => Culprit::Downstream,
            ProxyError::Timeout
            | ProxyError::ConnectFailure
            | ProxyError::UpstreamReset
            | ProxyError::RefusedStream => Culprit::Upstream,
            // A missing route, cluster or endpoint, an injected fault and a circuit breaker's
            // refusal are the mesh's decisions: the upstream was never asked.
            ProxyError::NoRouteMatched
            | ProxyError::NoCluster(_)
            | ProxyError::NoHealthyUpstream
            | ProxyError::NotReady
            | ProxyError::AppUnknown
            | ProxyError::Overflow
            | ProxyError::Unsupported(_)
            | ProxyError::FaultAbort(_) => Culprit::Proxy,
        }
    }
}
