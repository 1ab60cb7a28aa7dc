//! The controller loop: takes watch signals, writer feedback, leadership changes and a resync
//! tick, evaluates the CRs they name once every cache has synced, and hands the updates to the
//! writer. Evaluation never waits on the API. A full evaluation (the resync, a relist, a
//! leadership change) is worked off [`RESYNC_CHUNK`] CRs at a time, with the CRs that events
//! name evaluated first, so a change is written as quickly during a resync as outside one.
//!
//! A full evaluation goes at the pace of the writes: its next chunk is evaluated only while
//! fewer than [`RESYNC_CHUNK`] updates wait for the writer. On a first sync of thousands of
//! CRs, statuses are then computed shortly before they are written (so they are fresh), and
//! the updates waiting, with the sent statuses the index remembers, stay bounded instead of
//! growing to one per CR. Events are evaluated at once whatever the writer's queue.
//!
//! The periodic resync leaves out CRs whose status is on its way: not written yet, or written
//! less than one interval ago and not seen back yet. Their write's echo through the watch
//! evaluates them anyway, and a change of the CR or a child signals them on its own. On a first
//! sync of thousands of CRs most are in that state while the writes are worked off, and
//! evaluating them again would only compete with the writes for the CPU.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use layer_render::key::ObjectKey;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;

use super::index::StatusIndex;
use super::index::evaluation_rank;
use super::{Command, Feedback};
use crate::metrics::Metrics;
use crate::watch::mapping::coalesce;
use crate::watch::{Dirty, Signal, Watched, all_synced};

/// How many CRs of a full evaluation are evaluated before the loop looks at events again.
pub const RESYNC_CHUNK: usize = 256;

/// The channels and knobs of the loop.
pub struct ControllerIo {
    /// From the watchers and the prober.
    pub signals: UnboundedReceiver<Signal>,
    /// From the writer.
    pub feedback: UnboundedReceiver<Feedback>,
    /// To the writer.
    pub updates: UnboundedSender<Command>,
    /// How many updates wait for the writer.
    pub writer_waiting: watch::Receiver<usize>,
    /// Whether this replica holds the lease (always true without `--leader-elect`).
    pub leader: watch::Receiver<bool>,
    /// Set once every cache has synced (`/readyz`).
    pub ready: Arc<AtomicBool>,
    /// How often every CR is evaluated again, so stall deadlines fire without events.
    pub resync: Duration,
    /// Where the number of tracked CRs is reported.
    pub metrics: Metrics,
}

/// Runs until `shutdown` resolves or the signal channel closes.
pub async fn run_controller(
    mut index: StatusIndex,
    io: ControllerIo,
    shutdown: impl Future<Output = ()>,
) {
    let ControllerIo {
        mut signals,
        mut feedback,
        updates,
        mut writer_waiting,
        mut leader,
        ready,
        resync,
        metrics,
    } = io;
    tokio::pin!(shutdown);
    let mut states: BTreeMap<Watched, Signal> = BTreeMap::new();
    let mut dirty: Vec<Dirty> = Vec::new();
    // The rest of a full evaluation, worked off between events.
    let mut backlog: VecDeque<ObjectKey> = VecDeque::new();
    let mut leader_open = true;
    // The resync interval passed: evaluate everything, but what was just sent.
    let mut periodic = false;
    let mut tick = tokio::time::interval(resync);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let writer_busy = *writer_waiting.borrow_and_update() >= RESYNC_CHUNK;
        tokio::select! {
            biased;
            () = &mut shutdown => return,
            s = signals.recv() => match s {
                Some(s) => handle(&mut index, &mut states, &mut dirty, s),
                None => return,
            },
            Some(f) = feedback.recv() => match f {
                Feedback::Dropped(key) => index.forget_pending(&key),
                Feedback::Gone(key) => index.mark_gone(&key),
                Feedback::Written(key) => index.mark_written(&key, Instant::now()),
            },
            changed = leader.changed(), if leader_open => match changed {
                Ok(()) => {
                    let is_leader = *leader.borrow_and_update();
                    tracing::info!(leader = is_leader, "leadership changed");
                    index.forget_all_pending();
                    dirty.push(Dirty::Everything);
                }
                Err(_) => leader_open = false,
            },
            // A tick during a full evaluation is that evaluation: restarting it would never let
            // a round finish when one takes longer than the interval.
            _ = tick.tick() => if backlog.is_empty() {
                periodic = true;
            },
            // Nothing else to do: go on with the full evaluation, after letting others run...
            () = tokio::task::yield_now(), if !backlog.is_empty() && !writer_busy => {}
            // ...or once the writer has caught up.
            Ok(()) = writer_waiting.changed(), if !backlog.is_empty() && writer_busy => {}
        }
        // Coalesce whatever else is queued into this round.
        while let Ok(s) = signals.try_recv() {
            handle(&mut index, &mut states, &mut dirty, s);
        }
        if !all_synced(&states) || (dirty.is_empty() && backlog.is_empty() && !periodic) {
            continue;
        }
        if !ready.swap(true, Ordering::SeqCst) {
            tracing::info!("caches synced; writing status");
        }
        let dirty_sets = coalesce(&dirty);
        dirty.clear();
        // Events first: a full evaluation is worked off in chunks between them, so one change
        // is written within a chunk's time, not a whole resync's.
        let everything = dirty_sets == [Dirty::Everything];
        let mut keys: Vec<ObjectKey> = if everything {
            Vec::new()
        } else {
            let mut seen = HashSet::new();
            dirty_sets
                .iter()
                .flat_map(|d| index.expand(d))
                .filter(|k| seen.insert(k.clone()))
                .collect()
        };
        let mut started_round = false;
        if everything || periodic {
            let mut all = index.expand(&Dirty::Everything);
            all.sort_by_key(evaluation_rank);
            index.retain(&all.iter().collect());
            if !everything {
                let now = Instant::now();
                all.retain(|k| !index.on_its_way(k, now, resync));
            }
            backlog = all.into();
            started_round = true;
            periodic = false;
        }
        keys.sort_by_key(evaluation_rank);
        let chunk = if *writer_waiting.borrow() < RESYNC_CHUNK {
            backlog.len().min(RESYNC_CHUNK)
        } else {
            0
        };
        keys.extend(backlog.drain(..chunk));
        let finished_round = (chunk > 0 || started_round) && backlog.is_empty();
        tracing::debug!(evaluating = keys.len(), left = backlog.len(), "evaluating");
        let now = Timestamp::now();
        let is_leader = *leader.borrow();
        for key in keys {
            if let Some(update) = index.evaluate(&key, now) {
                if is_leader {
                    if updates.send(Command::Apply(update)).is_err() {
                        return;
                    }
                } else {
                    index.forget_pending(&key);
                }
            }
        }
        for key in index.take_settled() {
            if updates.send(Command::Cancel(key)).is_err() {
                return;
            }
        }
        if finished_round {
            metrics.resynced();
        }
        metrics.tracked(index.tracked());
    }
}

fn handle(
    index: &mut StatusIndex,
    states: &mut BTreeMap<Watched, Signal>,
    dirty: &mut Vec<Dirty>,
    signal: Signal,
) {
    match &signal {
        Signal::Dirty(d) => dirty.push(d.clone()),
        Signal::Synced(w) => {
            index.set_installed(*w, true);
            states.insert(*w, signal.clone());
        }
        Signal::Missing(w) => {
            index.set_installed(*w, false);
            states.insert(*w, signal.clone());
            dirty.push(Dirty::Everything);
        }
    }
}
