//! Publishing with a debounce: a burst of changes is one push.
//!
//! An edit of three files, or twenty proxies starting together, are many changes in a few
//! milliseconds; pushing a snapshot for each would send every proxy twenty versions it throws
//! away. So, like istiod (`PILOT_DEBOUNCE_AFTER` 100 ms, `PILOT_DEBOUNCE_MAX` 10 s), the
//! publisher waits until no change came for `debounce`, but never more than [`MAX_DELAY`]
//! after the first change of the burst, so that a steady trickle of changes still gets pushed.
//!
//! ```text
//!   changes:  x  x x   x                x
//!   pushes:              |<-debounce->|P   (P: one push for the four changes)
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::control_plane::ControlPlane;

/// The longest a change waits for its push, however busy the burst.
pub const MAX_DELAY: Duration = Duration::from_secs(1);

/// Pushes after each burst of changes, until `shutdown`.
pub async fn run(control: Arc<ControlPlane>, debounce: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = control.next_change() => {}
        }
        let first = tokio::time::Instant::now();
        let mut last = first;
        loop {
            let deadline = (last + debounce).min(first + MAX_DELAY);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(deadline) => break,
                () = control.next_change() => last = tokio::time::Instant::now(),
            }
        }
        push(&control);
    }
}

/// Builds and publishes the snapshot of what is in force now, if its version is new.
pub fn push(control: &ControlPlane) {
    let started = Instant::now();
    let Some(snapshot) = control.publish() else {
        tracing::debug!("changes left the snapshot as it was: nothing to push");
        return;
    };
    let elapsed = started.elapsed();
    control.metrics.pushes.inc();
    control.metrics.push_duration.observe(elapsed.as_secs_f64());
    tracing::info!(
        "pushed version {} to {} proxies in {:.1} ms",
        snapshot.version(),
        control.registry.len(),
        elapsed.as_secs_f64() * 1000.0
    );
}
