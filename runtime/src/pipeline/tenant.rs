//! One tenant inside the streaming loop: its routing, queue, call in flight and position.

use std::sync::Arc;
use std::time::Instant;

use super::batcher::Batcher;
use crate::assemble::Transaction;
use crate::route::TenantRouter;
use crate::sandbox::worker::{Request, SinkWorker};
use crate::source::lsn::Lsn;

/// What the loop is given for each tenant.
pub struct TenantSetup {
    pub id: Arc<str>,
    /// `None`: the tenant receives everything in the publication (the single-sink CLI).
    pub router: Option<TenantRouter>,
    /// The running sink, or why it could not be started (the tenant starts quarantined).
    pub worker: Result<SinkWorker, String>,
    pub max_batch: usize,
    pub max_queue: usize,
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

pub(super) struct InFlight {
    pub token: u64,
    pub ack: Option<Lsn>,
    pub changes: usize,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct TenantStats {
    pub delivered_changes: u64,
    pub delivered_batches: u64,
}

pub(super) struct Tenant {
    pub id: Arc<str>,
    router: Option<TenantRouter>,
    pub batcher: Batcher,
    worker: Option<SinkWorker>,
    pub in_flight: Option<InFlight>,
    /// Everything up to here is accepted (by the sink, or because nothing of it was routed here).
    pub accepted: Lsn,
    /// What the checkpoint file holds for this tenant.
    pub durable: Lsn,
    /// Transactions ending at or before this were accepted in an earlier session.
    pub skip_through: Lsn,
    pub state: TenantState,
    max_queue: usize,
    pub stats: TenantStats,
    pub lag_warned: Option<Instant>,
}

impl Tenant {
    pub fn new(setup: TenantSetup, stored: Lsn) -> Tenant {
        let (worker, state) = match setup.worker {
            Ok(w) => (Some(w), TenantState::Active),
            Err(reason) => {
                tracing::error!(tenant = %setup.id, "tenant quarantined at {stored}: {reason}");
                (None, TenantState::Quarantined { reason })
            }
        };
        Tenant {
            id: setup.id,
            router: setup.router,
            batcher: Batcher::new(setup.max_batch),
            worker,
            in_flight: None,
            accepted: stored,
            durable: stored,
            skip_through: stored,
            state,
            max_queue: setup.max_queue,
            stats: TenantStats::default(),
            lag_warned: None,
        }
    }

    pub fn active(&self) -> bool {
        self.state == TenantState::Active
    }

    /// Nothing of this tenant is queued or in flight.
    pub fn idle(&self) -> bool {
        self.in_flight.is_none() && self.batcher.is_empty()
    }

    /// The queue is at its bound: the loop stops reading until it drains.
    pub fn full(&self) -> bool {
        self.active() && self.batcher.queued_changes() >= self.max_queue
    }

    pub fn routes_everything(&self) -> bool {
        self.router.is_none()
    }

    /// Queues the part of `txn` this tenant may see (possibly nothing: then the transaction only
    /// moves the tenant's position); `last` marks a transaction's last part. Returns an error
    /// message when routing failed, which quarantines the tenant.
    pub fn offer_part(&mut self, txn: &Transaction, last: bool) -> Result<(), String> {
        if !self.active() || Lsn(txn.end_lsn) <= self.skip_through {
            return Ok(());
        }
        let mut changes = Vec::new();
        if let Some(router) = &mut self.router {
            for rc in &txn.changes {
                if let Some(routed) = router.route(rc).map_err(|e| e.to_string())? {
                    changes.push(routed);
                }
            }
        } else {
            changes = txn.changes.clone();
        }
        if changes.is_empty() && self.idle() {
            // Nothing here for this tenant and nothing before it pending: the position moves on
            // the spot, without queueing (most tenants, most transactions, with narrow grants).
            if last {
                self.accepted = self.accepted.max(Lsn(txn.end_lsn));
            }
            return Ok(());
        }
        self.batcher.push_part(
            Transaction {
                changes,
                ..Transaction::header_of(txn)
            },
            last,
        );
        Ok(())
    }

    /// Queues a whole transaction without routing or copying (a tenant that sees everything).
    pub fn push(&mut self, txn: Transaction, last: bool) {
        if self.active() && Lsn(txn.end_lsn) > self.skip_through {
            self.batcher.push_part(txn, last);
        }
    }

    /// Sends the next batch to the sink if none is in flight. Batches with no changes (nothing
    /// routed here) are accepted on the spot.
    pub fn dispatch(&mut self, next_token: &mut u64) -> Result<(), String> {
        while self.in_flight.is_none() && self.active() {
            let Some(ready) = self.batcher.next_batch() else {
                return Ok(());
            };
            if ready.batch.changes.is_empty() {
                self.accepted = self.accepted.max(ready.ack.unwrap_or_default());
                continue;
            }
            let Some(worker) = &self.worker else {
                return Err("the sink is not running".into());
            };
            let token = *next_token;
            *next_token += 1;
            self.in_flight = Some(InFlight {
                token,
                ack: ready.ack,
                changes: ready.batch.changes.len(),
            });
            if !worker.send(Request::Publish {
                batch: ready.batch,
                token,
            }) {
                return Err("the sink thread has stopped".into());
            }
        }
        Ok(())
    }

    /// The call in flight was accepted. Returns whether the position moved.
    pub fn accepted_in_flight(&mut self) -> bool {
        let Some(done) = self.in_flight.take() else {
            return false;
        };
        self.stats.delivered_batches += 1;
        self.stats.delivered_changes += done.changes as u64;
        match done.ack {
            Some(ack) if ack > self.accepted => {
                self.accepted = ack;
                true
            }
            _ => false,
        }
    }

    /// Stops the tenant: its queue is dropped and its position stays where it was accepted, so
    /// the slot keeps its changes until an operator fixes and restarts it.
    pub fn quarantine(&mut self, reason: String) -> Option<SinkWorker> {
        tracing::error!(tenant = %self.id, "tenant quarantined at {}: {reason}", self.accepted);
        self.state = TenantState::Quarantined { reason };
        self.batcher.clear();
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
