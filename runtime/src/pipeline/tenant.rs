//! One tenant inside the streaming loop: its routing, queue, call in flight and position.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backlog::Backlog;
use super::batcher::Batcher;
use super::budget::QueueMemory;
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
    /// Commit time of its first change (what the lag in seconds is measured from).
    oldest: i64,
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
    /// `spill`: where the tenant's queue goes past `max_queue` or while all queues together are
    /// over their memory budget (multi-tenant runs); `None`: the loop stops reading instead.
    pub fn new(
        setup: TenantSetup,
        stored: Position,
        spill: Option<(Backlog, Arc<QueueMemory>)>,
    ) -> Tenant {
        let (backlog, batcher) = match spill {
            Some((backlog, memory)) => {
                (Some(backlog), Batcher::with_budget(setup.max_batch, memory))
            }
            None => (None, Batcher::new(setup.max_batch)),
        };
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
            batcher,
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

    /// Queues a part behind everything already queued. With a backlog, a part larger than one
    /// call is queued as slices of one call each: the memory budget is checked per slice, and a
    /// slice read back from disk is what one call takes, so all queues together overshoot the
    /// budget by at most a call's worth per tenant, not by a tenant's share of a big transaction.
    fn enqueue(&mut self, txn: Transaction, last: bool) -> Result<(), String> {
        let slice = self.batcher.max_changes();
        if self.backlog.is_none() || txn.changes.len() <= slice {
            return self.enqueue_slice(txn, last);
        }
        let header = Transaction::header_of(&txn);
        let mut changes = txn.changes.into_iter().peekable();
        while changes.peek().is_some() {
            let part: Vec<_> = changes.by_ref().take(slice).collect();
            let end = last && changes.peek().is_none();
            self.enqueue_slice(
                Transaction {
                    changes: part,
                    ..Transaction::header_of(&header)
                },
                end,
            )?;
        }
        Ok(())
    }

    /// Queues one slice: in memory while there is room and nothing is on disk (order is kept by
    /// never overtaking the backlog), else on disk.
    fn enqueue_slice(&mut self, txn: Transaction, last: bool) -> Result<(), String> {
        let max_queue = self.max_queue;
        let in_memory = self.batcher.queued_changes();
        let over_budget = self.batcher.over_budget();
        match &mut self.backlog {
            Some(backlog) if !backlog.is_empty() || in_memory >= max_queue || over_budget => {
                if backlog.is_empty() && !over_budget {
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
        // Over the budget, only what one call takes comes back into memory: a tenant whose
        // share waits on disk still moves, whatever the others hold.
        while self.batcher.queued_changes() < self.max_queue
            && (!self.batcher.over_budget()
                || self.batcher.queued_changes() < self.batcher.max_changes())
        {
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
                oldest: ready.batch.changes[0].commit_time,
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

mod report;

#[cfg(test)]
mod tests;
