//! One tenant inside the streaming loop: its routing, queue, call in flight and position.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backlog::Backlog;
use super::batcher::Batcher;
use super::status::TenantStatus;
use super::worker::{Request, SinkWorker};
use crate::assemble::Transaction;
use crate::checkpoint::{Partial, Position};
use crate::event::Lsn;
use crate::route::TenantRouter;

mod offer;

pub(super) use offer::offered_after;

/// What the loop is given for each tenant.
pub struct TenantSetup {
    pub id: Arc<str>,
    /// `None`: the tenant receives everything in the publication (the single-sink CLI).
    pub router: Option<TenantRouter>,
    /// The running sink, or why it could not be started (the tenant starts quarantined).
    pub worker: Result<SinkWorker, String>,
    pub max_batch: usize,
    pub max_queue: usize,
    /// How long a batch short of `max_batch` may wait for more changes after the previous call
    /// (see [`Tenant::dispatch`]).
    pub batch_wait: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum TenantState {
    Active,
    /// Stopped after failing too often; its position holds the slot until an operator acts.
    Quarantined {
        reason: String,
    },
}

struct InFlight {
    token: u64,
    ack: Option<Lsn>,
    partial: Option<Partial>,
    changes: usize,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct TenantStats {
    pub delivered_changes: u64,
    pub delivered_batches: u64,
}

pub(super) struct Tenant {
    id: Arc<str>,
    router: Option<TenantRouter>,
    batcher: Batcher,
    /// Where this tenant's share goes once `batcher` holds `max_queue` changes, so that a slow
    /// tenant does not stop the stream for the others. `None` with a single tenant: there the
    /// loop simply stops reading (the server keeps the WAL) and nothing needs the disk.
    backlog: Option<Backlog>,
    worker: Option<SinkWorker>,
    in_flight: Option<InFlight>,
    /// Everything up to here is accepted (by the sink, or because nothing of it was routed here).
    accepted: Lsn,
    /// The first slices of the transaction after `accepted`, when the sink accepted those.
    partial: Option<Partial>,
    /// What the checkpoint file holds for this tenant.
    durable: Position,
    /// What was accepted in an earlier session (or before a reconnect): not delivered again.
    skip: Position,
    state: TenantState,
    max_queue: usize,
    batch_wait: Duration,
    /// When the last batch went to the sink.
    last_sent: Option<Instant>,
    stats: TenantStats,
    lag_warned: Option<Instant>,
    /// A call was given up (a stop): what it carried was not accepted, so the tenant must not
    /// follow the `offered` watermark although nothing is queued (see `tenant/offer.rs`).
    gave_up: bool,
}

impl Tenant {
    pub fn new(setup: TenantSetup, stored: Position, backlog: Option<Backlog>) -> Tenant {
        let (worker, state) = match setup.worker {
            Ok(w) => (Some(w), TenantState::Active),
            Err(reason) => {
                tracing::error!(tenant = %setup.id, "tenant quarantined at {}: {reason}", stored.lsn);
                (None, TenantState::Quarantined { reason })
            }
        };
        Tenant {
            id: setup.id,
            router: setup.router,
            batcher: Batcher::new(setup.max_batch),
            backlog,
            worker,
            in_flight: None,
            accepted: stored.lsn,
            partial: stored.partial,
            durable: stored,
            skip: stored,
            state,
            max_queue: setup.max_queue,
            batch_wait: setup.batch_wait,
            last_sent: None,
            stats: TenantStats::default(),
            lag_warned: None,
            gave_up: false,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn active(&self) -> bool {
        self.state == TenantState::Active
    }

    /// A call to the sink is under way.
    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The call under way is the one the worker answered with `token`.
    pub fn awaits(&self, token: u64) -> bool {
        self.in_flight.as_ref().is_some_and(|f| f.token == token)
    }

    /// The call under way was given up (a stop during its retries): nothing of it was accepted.
    pub fn cancelled_in_flight(&mut self) {
        self.in_flight = None;
        self.gave_up = true;
    }

    /// What the checkpoint file holds for this tenant.
    pub fn durable(&self) -> Position {
        self.durable
    }

    /// A checkpoint write put `position` on disk for this tenant.
    pub fn made_durable(&mut self, position: Position) {
        self.durable = position;
    }

    /// After a reconnect the server sends everything after the slot's position again: drop the
    /// queue, and skip what was accepted already.
    pub fn restart_from_durable(&mut self) {
        self.clear_queue();
        self.skip = self.durable;
        self.gave_up = false;
    }

    /// Warns (at most once a minute) when this tenant holds back more than `limit` bytes of WAL
    /// behind `received`.
    pub fn warn_lag(&mut self, received: Lsn, floor: Lsn, limit: u64) {
        let lag = received.0.saturating_sub(self.durable.lsn.max(floor).0);
        let recently = self
            .lag_warned
            .is_some_and(|at| at.elapsed() < Duration::from_secs(60));
        if lag > limit && !recently {
            tracing::warn!(
                tenant = %self.id,
                "tenant holds back {} MiB of WAL (position {}, server at {received}): the slot \
                 cannot advance past it",
                lag >> 20,
                self.durable.lsn,
            );
            self.lag_warned = Some(Instant::now());
        }
    }

    /// This tenant's line of the status file (lag from `floor` for a tenant that has none yet).
    pub fn status(&self, received: Lsn, floor: Lsn) -> TenantStatus {
        let (state, reason) = match &self.state {
            TenantState::Active => ("active", None),
            TenantState::Quarantined { reason } => ("quarantined", Some(reason.clone())),
        };
        TenantStatus {
            id: self.id.to_string(),
            state: state.into(),
            reason,
            position_lsn: self.durable.lsn.to_string(),
            queued_changes: self.queued_changes(),
            spilled_changes: self.spilled_changes(),
            delivered_changes: self.stats.delivered_changes,
            delivered_batches: self.stats.delivered_batches,
            lag_bytes: received.0.saturating_sub(self.durable.lsn.max(floor).0),
        }
    }

    /// Nothing of this tenant is queued or in flight.
    pub fn idle(&self) -> bool {
        self.in_flight.is_none()
            && self.batcher.is_empty()
            && self.backlog.as_ref().is_none_or(Backlog::is_empty)
    }

    /// The queue is at its bound and cannot spill: the loop stops reading until it drains.
    pub fn full(&self) -> bool {
        self.active() && self.backlog.is_none() && self.batcher.queued_changes() >= self.max_queue
    }

    /// Changes waiting for the sink, in memory and on disk.
    pub fn queued_changes(&self) -> usize {
        self.batcher.queued_changes() + self.backlog.as_ref().map_or(0, Backlog::changes)
    }

    /// Changes waiting on disk.
    pub fn spilled_changes(&self) -> usize {
        self.backlog.as_ref().map_or(0, Backlog::changes)
    }

    /// Drops everything queued (the server will send it again).
    fn clear_queue(&mut self) {
        self.batcher.clear();
        if let Some(b) = &mut self.backlog {
            b.clear();
        }
    }

    /// Queues a part behind everything already queued: in memory while there is room and nothing
    /// is on disk (order is kept by never overtaking the backlog), else on disk.
    fn enqueue(&mut self, txn: Transaction, last: bool) -> Result<(), String> {
        let max_queue = self.max_queue;
        let in_memory = self.batcher.queued_changes();
        match &mut self.backlog {
            Some(backlog) if !backlog.is_empty() || in_memory >= max_queue => {
                if backlog.is_empty() {
                    tracing::info!(
                        tenant = %self.id,
                        "the sink is behind by {in_memory} changes: queueing the rest in {}",
                        backlog.path().display()
                    );
                }
                backlog.push(txn, last).map_err(|e| {
                    format!(
                        "could not queue changes on disk in {}: {e}",
                        backlog.path().display()
                    )
                })
            }
            _ => {
                self.batcher.push_part(txn, last);
                Ok(())
            }
        }
    }

    /// Moves parts from disk back into memory while there is room.
    fn refill(&mut self) -> Result<(), String> {
        let Some(backlog) = &mut self.backlog else {
            return Ok(());
        };
        while self.batcher.queued_changes() < self.max_queue {
            match backlog.pop() {
                Ok(Some((txn, last))) => self.batcher.push_part(txn, last),
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    /// Sends the next batch to the sink if none is in flight. Batches with no changes (nothing
    /// routed here) are accepted on the spot.
    ///
    /// A batch short of `max_batch` is held back until `batch_wait` after the previous call, and
    /// the time to try again is returned. A steady stream of small transactions then reaches the
    /// sink as one call per `batch_wait` instead of one per transaction: each call costs two
    /// thread wake-ups and a sink invocation, which at ten thousand transactions a second took
    /// more CPU than the work itself and made the tail latency worse, not better. After a quiet
    /// spell a change goes out at once.
    pub fn dispatch(
        &mut self,
        next_token: &mut u64,
        now: Instant,
    ) -> Result<Option<Instant>, String> {
        while self.in_flight.is_none() && self.active() {
            self.refill()?;
            if let Some(until) = self.held_until(now) {
                return Ok(Some(until));
            }
            let Some(ready) = self.batcher.next_batch() else {
                return Ok(None);
            };
            if ready.batch.changes.is_empty() {
                self.accepted = self.accepted.max(ready.ack.unwrap_or_default());
                if ready.ack.is_some() {
                    self.partial = None;
                }
                continue;
            }
            let Some(worker) = &self.worker else {
                return Err("the sink is not running".into());
            };
            let token = *next_token;
            *next_token += 1;
            self.last_sent = Some(now);
            self.in_flight = Some(InFlight {
                token,
                ack: ready.ack,
                partial: ready.partial,
                changes: ready.batch.changes.len(),
            });
            if !worker.send(Request::Publish {
                batch: ready.batch,
                token,
            }) {
                return Err("the sink thread has stopped".into());
            }
        }
        Ok(None)
    }

    /// Until when what is queued waits for more: while it makes less than a full batch and the
    /// previous call went out less than `batch_wait` ago. `None`: it may go now.
    fn held_until(&self, now: Instant) -> Option<Instant> {
        let until = self.last_sent? + self.batch_wait;
        let short = !self.batcher.is_empty() && self.batcher.holds_less_than_a_batch();
        (short && now < until).then_some(until)
    }

    /// The call in flight was accepted. Returns whether the position moved.
    pub fn accepted_in_flight(&mut self) -> bool {
        let Some(done) = self.in_flight.take() else {
            return false;
        };
        self.stats.delivered_batches += 1;
        self.stats.delivered_changes += done.changes as u64;
        let before = (self.accepted, self.partial);
        if let Some(ack) = done.ack {
            self.accepted = self.accepted.max(ack);
        }
        self.partial = done.partial;
        (self.accepted, self.partial) != before
    }

    /// Stops the tenant: its queue is dropped and its position stays where it was accepted, so
    /// the slot keeps its changes until an operator fixes and restarts it.
    pub fn quarantine(&mut self, reason: String) -> Option<SinkWorker> {
        tracing::error!(tenant = %self.id, "tenant quarantined at {}: {reason}", self.accepted);
        self.state = TenantState::Quarantined { reason };
        self.clear_queue();
        self.in_flight = None;
        self.worker.take()
    }

    pub fn cancel_retries(&self) {
        if let Some(w) = &self.worker {
            w.cancel_retries();
        }
    }

    pub fn take_worker(&mut self) -> Option<SinkWorker> {
        self.worker.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::batcher::tests::{rel, txn};

    fn tenant(max_batch: usize, batch_wait: Duration) -> Tenant {
        let setup = TenantSetup {
            id: "t".into(),
            router: None,
            worker: Err("no sink in this test".into()),
            max_batch,
            max_queue: 1_000,
            batch_wait,
        };
        Tenant::new(setup, Position::default(), None)
    }

    #[test]
    fn a_short_batch_waits_only_right_after_a_call() {
        let wait = Duration::from_millis(5);
        let mut t = tenant(10, wait);
        let a = rel("a");
        let now = Instant::now();
        t.batcher.push(txn(100, 1, &a));
        assert_eq!(
            t.held_until(now),
            None,
            "after a quiet spell it goes at once"
        );
        t.last_sent = Some(now);
        assert_eq!(t.held_until(now), Some(now + wait));
        assert_eq!(t.held_until(now + wait), None, "the wait is over");
        t.batcher.push(txn(200, 9, &a));
        assert_eq!(t.held_until(now), None, "a full batch goes at once");
    }

    #[test]
    fn nothing_queued_means_nothing_to_wait_for() {
        let mut t = tenant(10, Duration::from_secs(1));
        let now = Instant::now();
        t.last_sent = Some(now);
        assert_eq!(t.held_until(now), None);
        let mut zero = tenant(10, Duration::ZERO);
        zero.last_sent = Some(now);
        zero.batcher.push(txn(100, 1, &rel("a")));
        assert_eq!(zero.held_until(now), None, "batch_wait 0 never holds back");
    }
}
