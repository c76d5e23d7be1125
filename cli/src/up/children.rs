//! Everything the launcher has started, and the one way to stop it: [`Children::stop`].
//!
//! Start-up can end in many places (a signal, an instance that cannot start, a sidecar that is
//! never ready, a state file that cannot be written), and each of them must stop what was
//! already running. Instead of writing the cleanup at every exit, `run_stack` hands one
//! `Children` to the start-up steps, which put each task they spawn into it, and calls
//! [`Children::stop`] once, after whatever happened. Stopping is async (each child gets SIGTERM
//! and a grace period), which a `Drop` cannot wait for, so `stop` is the path every exit takes;
//! the `Drop` only covers the case where `stop` never ran (a panic): it asks every task to stop,
//! and the processes die with their handles (`kill_on_drop`, and their stdin pipe closing).

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The launcher's tasks, grouped by what stops them and when.
#[derive(Default)]
pub struct Children {
    pub vips: Group,
    pub instances: Group,
    /// The sidecars and the ingress gateway.
    pub sidecars: Group,
    /// The control plane (with the mesh): stopped last, after every proxy.
    pub control: Group,
    /// The mesh dashboard, served in the launcher: stopped after the proxies, whose last spans
    /// it still receives.
    pub dashboard: Option<sailkit_dashboard::Running>,
    stopped: bool,
}

/// Tasks that stop together when their token is cancelled.
#[derive(Default)]
pub struct Group {
    pub stop: CancellationToken,
    pub tasks: JoinSet<()>,
}

impl Group {
    /// Asks every task to stop, and waits until they all have.
    async fn stop_all(&mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Children {
    /// Stops everything, in order: the VIPs stop accepting while every instance gets SIGTERM,
    /// all at once; the sidecars last, so the instances' final requests still reach their peers.
    pub async fn stop(mut self) {
        self.vips.stop.cancel();
        self.instances.stop_all().await;
        self.sidecars.stop_all().await;
        self.control.stop_all().await;
        if let Some(dashboard) = self.dashboard.take() {
            dashboard.stop().await;
        }
        while self.vips.tasks.join_next().await.is_some() {}
        self.stopped = true;
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        if !self.stopped {
            self.vips.stop.cancel();
            self.instances.stop.cancel();
            self.sidecars.stop.cancel();
            self.control.stop.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A task that, once its group is told to stop, writes `name` into `log`.
    fn record_on_stop(group: &mut Group, log: &Arc<Mutex<Vec<&'static str>>>, name: &'static str) {
        let (stop, log) = (group.stop.clone(), log.clone());
        group.tasks.spawn(async move {
            stop.cancelled().await;
            log.lock().expect("log").push(name);
        });
    }

    #[tokio::test]
    async fn stop_ends_the_instances_before_the_sidecars_and_waits_for_every_task() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut children = Children::default();
        record_on_stop(&mut children.instances, &log, "instance");
        record_on_stop(&mut children.instances, &log, "instance");
        record_on_stop(&mut children.sidecars, &log, "sidecar");
        record_on_stop(&mut children.vips, &log, "vip");
        children.stop().await;
        let log = log.lock().expect("log").clone();
        assert_eq!(
            log.len(),
            4,
            "every task ended before stop returned: {log:?}"
        );
        let last_instance = log
            .iter()
            .rposition(|n| *n == "instance")
            .expect("instances");
        let sidecar = log.iter().position(|n| *n == "sidecar").expect("sidecar");
        assert!(last_instance < sidecar, "sidecars stop last: {log:?}");
    }

    #[tokio::test]
    async fn dropped_without_stop_it_still_tells_every_task_to_stop() {
        let children = Children::default();
        let tokens = [
            children.vips.stop.clone(),
            children.instances.stop.clone(),
            children.sidecars.stop.clone(),
        ];
        drop(children);
        assert!(tokens.iter().all(CancellationToken::is_cancelled));
    }
}
