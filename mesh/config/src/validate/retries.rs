//! `retries`: every `retryOn` condition is one Envoy knows (those sailkit does not implement are
//! warnings), and a per-try timeout is at least 1ms.

use super::{at_least_1ms, unimplemented};
use crate::diagnostics::Report;
use crate::model::HttpRetry;

/// `retryOn` conditions the proxy implements.
pub const IMPLEMENTED_RETRY_ON: [&str; 6] = [
    "5xx",
    "gateway-error",
    "connect-failure",
    "refused-stream",
    "reset",
    "retriable-4xx",
];

/// Other conditions Envoy accepts: valid Istio, not (yet) implemented by sailkit.
const OTHER_RETRY_ON: [&str; 10] = [
    "envoy-ratelimited",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
    "reset-before-request",
];

pub(super) fn retry(retries: &HttpRetry, at: &str, report: &mut Report<'_>) {
    if let Some(per_try) = retries.per_try_timeout {
        at_least_1ms(per_try.get(), &format!("{at}.perTryTimeout"), report);
    }
    if let Some(retry_on) = &retries.retry_on {
        let path = format!("{at}.retryOn");
        for condition in retry_on.split(',').map(str::trim) {
            if IMPLEMENTED_RETRY_ON.contains(&condition) || condition.parse::<u16>().is_ok() {
                continue;
            }
            if OTHER_RETRY_ON.contains(&condition) {
                report.warn(
                    &path,
                    format!(
                        "retryOn condition {condition:?} is not implemented by sailkit: ignored"
                    ),
                );
            } else {
                report.error(&path, format!("unknown retryOn condition {condition:?}"));
            }
        }
    }
    unimplemented(
        report,
        &retries.retry_remote_localities,
        &format!("{at}.retryRemoteLocalities"),
    );
    unimplemented(
        report,
        &retries.retry_ignore_previous_hosts,
        &format!("{at}.retryIgnorePreviousHosts"),
    );
    unimplemented(report, &retries.backoff, &format!("{at}.backoff"));
}
