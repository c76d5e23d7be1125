//! The run itself: `-c` connection tasks taking slots from one schedule until it is over.
//!
//! Each connection is one tokio task. It opens its connection, then runs its "lanes": one for
//! HTTP/1.1 (a request, its whole answer, the next request on the same keep-alive connection),
//! `--streams` of them for HTTP/2, each a loop of its own over the shared connection. When the
//! connection is lost, the lanes come back to the task, which opens a new one and carries on
//! with the slot that could not be sent. A connection that cannot be opened costs its slot (it
//! is counted as a connect error, so `-n` runs always end) and, at full speed, a short pause
//! that grows to 100 ms, so that a target that is down does not make the generator spin.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until};

use super::connection::{self, Sender};
use super::plan::Plan;
use super::progress::Live;
use super::schedule::{Schedule, Slot};
use super::stats::Stats;

/// The longest pause after a failed connect at full speed.
const MAX_CONNECT_PAUSE: Duration = Duration::from_millis(100);

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub stats: Stats,
    /// From the first slot to the last answer.
    pub elapsed: Duration,
}

/// Runs `plan` to the end. `live` is updated as requests complete, for the progress display.
pub async fn run(plan: Arc<Plan>, live: Arc<Live>) -> Outcome {
    let start = Instant::now();
    let schedule = Arc::new(Schedule::new(start, plan.stop, plan.qps));
    let mut connections = JoinSet::new();
    for _ in 0..plan.connections {
        connections.spawn(connection_task(
            plan.clone(),
            schedule.clone(),
            live.clone(),
        ));
    }
    let mut stats = Stats::default();
    while let Some(done) = connections.join_next().await {
        // A task can only fail by panicking, which would be a bug here: count what the others
        // did rather than lose the whole run.
        if let Ok(connection_stats) = done {
            stats.merge(&connection_stats);
        }
    }
    Outcome {
        stats,
        elapsed: start.elapsed(),
    }
}

/// One connection, reopened as often as needed, until the schedule is over.
async fn connection_task(plan: Arc<Plan>, schedule: Arc<Schedule>, live: Arc<Live>) -> Stats {
    let mut stats = Stats::default();
    let mut pending: Option<Slot> = None;
    let mut pause = Duration::from_millis(1);
    loop {
        let slot = match pending.take() {
            Some(slot) => slot,
            None => match schedule.next() {
                Some(slot) => slot,
                None => return stats,
            },
        };
        wait_for(slot).await;
        let sender = match connection::connect(plan.addr, plan.http2, plan.timeout).await {
            Ok(sender) => sender,
            Err(kind) => {
                stats.record_error(kind);
                live.record(false);
                if slot.due.is_none() {
                    sleep(pause).await;
                    pause = (pause * 2).min(MAX_CONNECT_PAUSE);
                }
                continue;
            }
        };
        pause = Duration::from_millis(1);
        pending = run_lanes(&plan, &schedule, &live, sender, slot, &mut stats).await;
        if pending.is_none() && schedule.is_over() {
            return stats;
        }
    }
}

/// Runs the connection's lanes until the schedule is over or the connection is lost; returns
/// a slot taken but not sent, for the next connection.
async fn run_lanes(
    plan: &Arc<Plan>,
    schedule: &Arc<Schedule>,
    live: &Arc<Live>,
    sender: Sender,
    first: Slot,
    stats: &mut Stats,
) -> Option<Slot> {
    if plan.streams == 1 {
        // The common case runs in this task: no extra task, no hand-off between threads.
        let (lane_stats, unsent) = lane(
            plan.clone(),
            schedule.clone(),
            live.clone(),
            sender,
            Some(first),
        )
        .await;
        stats.merge(&lane_stats);
        return unsent;
    }
    // HTTP/2 with several streams: one lane per stream, each its own task on the connection.
    let mut lanes = JoinSet::new();
    for _ in 1..plan.streams {
        if let Some(stream) = sender.another_stream() {
            lanes.spawn(lane(
                plan.clone(),
                schedule.clone(),
                live.clone(),
                stream,
                None,
            ));
        }
    }
    lanes.spawn(lane(
        plan.clone(),
        schedule.clone(),
        live.clone(),
        sender,
        Some(first),
    ));
    let mut pending = None;
    while let Some(done) = lanes.join_next().await {
        if let Ok((lane_stats, unsent)) = done {
            stats.merge(&lane_stats);
            pending = pending.or(unsent);
        }
    }
    pending
}

/// One request at a time over `sender`, until the schedule is over (returns no slot) or the
/// connection is lost (returns the slot it could not send, if any).
async fn lane(
    plan: Arc<Plan>,
    schedule: Arc<Schedule>,
    live: Arc<Live>,
    mut sender: Sender,
    mut next: Option<Slot>,
) -> (Stats, Option<Slot>) {
    let mut stats = Stats::default();
    loop {
        let slot = match next.take().or_else(|| schedule.next()) {
            Some(slot) => slot,
            None => return (stats, None),
        };
        let free_at = Instant::now();
        wait_for(slot).await;
        if !sender.ready().await {
            return (stats, Some(slot));
        }
        // With a rate, a request that is late because this lane was still busy (the target was
        // slow) has its latency counted from its due time (see `schedule`). A lane that was
        // idle and slept until the due time starts the clock now instead: tokio's timer wakes
        // up to a millisecond late, and that lateness is the generator's, not the target's.
        let began = match slot.due {
            Some(due) if free_at >= due => due,
            _ => Instant::now(),
        };
        match sender.send(plan.request.build(), plan.timeout).await {
            Ok(answer) => {
                stats.record_answer(answer.status, began.elapsed(), answer.body_bytes);
                live.record(true);
            }
            Err(failure) => {
                stats.record_error(failure.kind);
                live.record(false);
                if !failure.connection_ok {
                    return (stats, None);
                }
            }
        }
    }
}

async fn wait_for(slot: Slot) {
    if let Some(due) = slot.due {
        sleep_until(due).await;
    }
}
