//! Stage `timeout`: the rule's `timeout`, a deadline for the whole exchange with the upstream.
//!
//! It wraps the `retry` stage, so it bounds every attempt together: with `timeout: 1s` and three
//! attempts, the caller still hears back within about a second (504 `UT`). Each single attempt
//! has its own, shorter limit in `retry` (`perTryTimeout`). No `timeout` (or `0s`) means no
//! deadline, Istio's default.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::ProxyError;

/// Run `exchange`, giving up with [`ProxyError::Timeout`] after `limit`.
///
/// `exchange` comes pinned by the caller (`std::pin::pin!`): the retry stage's future is large,
/// and taking it by reference saves copying it into this one on every request.
pub async fn within<T, F>(limit: Option<Duration>, exchange: Pin<&mut F>) -> Result<T, ProxyError>
where
    F: Future<Output = Result<T, ProxyError>>,
{
    match limit {
        None => exchange.await,
        Some(limit) => tokio::time::timeout(limit, exchange)
            .await
            .unwrap_or(Err(ProxyError::Timeout)),
    }
}
