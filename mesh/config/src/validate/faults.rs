//! `fault`: a delay needs `fixedDelay`, an abort needs an HTTP status in 200..=599, and the
//! deprecated integer percentages stay within 0..=100.

use super::{at_least_1ms, unimplemented};
use crate::diagnostics::Report;
use crate::model::HttpFaultInjection;

pub(super) fn fault_injection(fault: &HttpFaultInjection, at: &str, report: &mut Report<'_>) {
    if fault.delay.is_none() && fault.abort.is_none() {
        report.error(at, "a fault needs a `delay` or an `abort`");
    }
    if let Some(delay) = &fault.delay {
        let path = format!("{at}.delay");
        if delay.fixed_delay.is_none() && delay.exponential_delay.is_none() {
            report.error(&path, "a delay needs `fixedDelay`");
        }
        if let Some(fixed) = delay.fixed_delay {
            at_least_1ms(fixed.get(), &format!("{path}.fixedDelay"), report);
        }
        unimplemented(
            report,
            &delay.exponential_delay,
            &format!("{path}.exponentialDelay"),
        );
        legacy_percent(delay.percent, &format!("{path}.percent"), report);
    }
    if let Some(abort) = &fault.abort {
        let path = format!("{at}.abort");
        match abort.http_status {
            Some(status) if !(200..=599).contains(&status) => report.error(
                &format!("{path}.httpStatus"),
                format!("HTTP status {status} is outside 200..=599"),
            ),
            None if abort.grpc_status.is_none() && abort.http2_error.is_none() => {
                report.error(&path, "an abort needs `httpStatus`")
            }
            _ => {}
        }
        unimplemented(report, &abort.grpc_status, &format!("{path}.grpcStatus"));
        unimplemented(report, &abort.http2_error, &format!("{path}.http2Error"));
        legacy_percent(abort.percent, &format!("{path}.percent"), report);
    }
}

fn legacy_percent(percent: Option<u32>, at: &str, report: &mut Report<'_>) {
    if percent.is_some_and(|p| p > 100) {
        report.error(at, "percent is outside 0..=100");
    }
}
