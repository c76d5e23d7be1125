//! Stage `fault`: Istio's fault injection, delay first, then abort.
//!
//! Faults test how the *caller* copes with a slow or failing dependency, without touching the
//! dependency. So this stage runs before anything is sent: an aborted request never reaches the
//! upstream, and a delayed one waits here, outside the route's `timeout` (as Envoy's fault filter
//! sits before its router). Each fault applies to its `percentage` of requests, rolled separately.

use http::StatusCode;
use mesh_config::{FaultPolicy, roll_hits};

use crate::error::ProxyError;
use crate::flags::{Flag, Flags};

/// Wait for the delay, if rolled (flag `DI`); fail with the abort status, if rolled (`FI`).
pub async fn inject(fault: Option<&FaultPolicy>, flags: &mut Flags) -> Result<(), ProxyError> {
    let Some(fault) = fault else { return Ok(()) };
    if let Some(delay) = fault.delay
        && roll_hits(fastrand::f64(), delay.percent)
    {
        flags.insert(Flag::DelayInjected);
        tokio::time::sleep(delay.delay).await;
    }
    if let Some(abort) = fault.abort
        && roll_hits(fastrand::f64(), abort.percent)
    {
        let status =
            StatusCode::from_u16(abort.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(ProxyError::FaultAbort(status));
    }
    Ok(())
}
