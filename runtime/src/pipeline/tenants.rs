//! All tenants of a run: handing transactions to each, sending their batches, taking their
//! sinks' answers, and quarantining the ones that fail.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::backlog::Backlog;
use super::budget::QueueMemory;
use super::status::TenantStatus;
use super::tenant::{Tenant, TenantSetup};
use super::worker::{Outcome, SinkWorker};
use crate::assemble::Transaction;
use crate::checkpoint::Position;
use crate::error::SetupError;
use crate::event::Lsn;
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Tenants {
    list: Vec<Tenant>,
    /// The budget of all queues together (see `budget`).
    memory: Arc<QueueMemory>,
    /// A failing tenant is quarantined and the others go on (multi-tenant), rather than the run
    /// stopping (the single-sink CLI).
    quarantine: bool,
    next_token: u64,
    /// The earliest time a tenant holding back a small batch wants to send it.
    send_due: Option<Instant>,
    /// Something happened since the last pass over the tenants that may let one of them send a
    /// batch: a transaction was queued, a call finished, a held batch's wait ran out. Most turns
    /// of the loop read a message that completes nothing (Begin, Relation, a row), and visiting a
    /// hundred tenants on each of them was a fifth of the loop's time.
    dispatch_due: bool,
    /// See [`Tenants::set_floor`].
    floor: Lsn,
    /// Tenants that may have something queued or in flight: every tenant that is not idle is in
    /// it. The loop asks "is any call in flight", "is any queue full" and "who can send now" on
    /// nearly every message; with a thousand tenants, of which a handful have work, asking all
    /// of them each time cost more than decoding. A tenant joins when it is handed changes or
    /// answered, and leaves when a dispatch pass finds it idle.
    work: BTreeSet<usize>,
}

impl Tenants {
    /// The tenants at their stored positions. One tenant stops the stream when it falls behind;
    /// several spill to `backlog_dir`, so that the slow one does not hold up the others (see
    /// `backlog`).
    pub fn new(
        setups: Vec<TenantSetup>,
        stored: &BTreeMap<String, Position>,
        backlog_dir: &Path,
        quarantine: bool,
        queue_memory: usize,
    ) -> Tenants {
        let spill = setups.len() > 1;
        let memory = Arc::new(QueueMemory::new(queue_memory));
        let many = setups.len() > 20;
        let list: Vec<Tenant> = setups
            .into_iter()
            .map(|setup| {
                let position = stored.get(&*setup.id).copied().unwrap_or_default();
                if many {
                    tracing::debug!(tenant = %setup.id, "resuming after {position}");
                } else {
                    tracing::info!(tenant = %setup.id, "resuming after {position}");
                }
                let spill = spill.then(|| {
                    let backlog = Backlog::new(backlog_dir.join(format!("{}.jsonl", setup.id)));
                    (backlog, memory.clone())
                });
                Tenant::new(setup, position, spill)
            })
            .collect();
        Tenants {
            work: (0..list.len()).collect(),
            memory,
            list,
            quarantine,
            next_token: 0,
            send_due: None,
            dispatch_due: true,
            floor: Lsn(0),
        }
    }

    /// The slot may move up to the least position over all tenants, quarantined ones included:
    /// their changes must stay on the server until they are delivered.
    pub fn slot_position(&self) -> Lsn {
        self.list
            .iter()
            .map(|t| t.durable().lsn)
            .min()
            .unwrap_or_default()
    }

    /// Some tenant's queue is at its bound and cannot spill: stop reading.
    pub fn any_full(&self) -> bool {
        self.work.iter().any(|&i| self.list[i].full())
    }

    pub fn any_in_flight(&self) -> bool {
        self.work.iter().any(|&i| self.list[i].in_flight())
    }

    /// Every active tenant has nothing queued or in flight.
    pub fn all_idle(&self) -> bool {
        self.work.iter().all(|&i| {
            let t = &self.list[i];
            !t.active() || t.idle()
        })
    }

    pub fn dispatch_due(&self) -> bool {
        self.dispatch_due
    }

    pub fn mark_dispatch_due(&mut self) {
        self.dispatch_due = true;
    }

    pub fn send_due(&self) -> Option<Instant> {
        self.send_due
    }

    /// See [`Tenant::advance_idle`].
    pub fn advance_idle(&mut self, wal_end: Lsn) {
        for t in &mut self.list {
            t.advance_idle(wal_end);
        }
    }

    /// Hands a transaction (or a part of a large one; `last` marks its last part) to every
    /// tenant, each taking what its grants let it see.
    pub async fn offer(&mut self, txn: Transaction, last: bool) {
        self.dispatch_due = true;
        let mut failed = Vec::new();
        match self.list.as_mut_slice() {
            [only] if only.routes_everything() => {
                if let Err(e) = only.push(txn, last) {
                    failed.push((0, e));
                }
                self.work.insert(0);
            }
            tenants => {
                for (i, t) in tenants.iter_mut().enumerate() {
                    if let Err(e) = t.offer_part(&txn, last) {
                        failed.push((i, e));
                    }
                    if !t.idle() {
                        self.work.insert(i);
                    }
                }
            }
        }
        for (i, reason) in failed {
            self.quarantine(i, reason).await;
        }
    }

    /// Hands a part of a transaction to some tenants only (a backfill's reads, queued right
    /// before the watermark transaction they belong to).
    pub async fn offer_to(&mut self, ids: &[String], part: Transaction) {
        self.dispatch_due = true;
        let mut failed = Vec::new();
        for (i, t) in self.list.iter_mut().enumerate() {
            if ids.iter().any(|id| id == t.id()) {
                if let Err(e) = t.offer_part(&part, false) {
                    failed.push((i, e));
                }
                self.work.insert(i);
            }
        }
        for (i, reason) in failed {
            self.quarantine(i, reason).await;
        }
    }

    /// The tenants' ids, in configuration order.
    pub fn ids(&self) -> Vec<String> {
        self.list.iter().map(|t| t.id().to_string()).collect()
    }

    /// Whether tenant `id` is granted `schema.table`; `None` when there is no such tenant.
    pub fn sees(&self, id: &str, schema: &str, table: &str) -> Option<bool> {
        let t = self.list.iter().find(|t| t.id() == id)?;
        Some(t.sees(schema, table))
    }

    /// Whether every tenant has change `seq` of the transaction ending at `end` on disk.
    pub fn all_cover(&self, end: Lsn, seq: u32) -> bool {
        self.list.iter().all(|t| t.durable().covers(end, seq))
    }

    /// Tenant `id`'s position on disk.
    pub fn durable_of(&self, id: &str) -> Option<Lsn> {
        self.list
            .iter()
            .find(|t| t.id() == id)
            .map(|t| t.durable().lsn)
    }

    /// Sends each tenant's next batch if it may go now (`stopping`: nothing new is sent).
    pub async fn dispatch(&mut self, stopping: bool) {
        self.dispatch_due = false;
        self.send_due = None;
        if stopping {
            return;
        }
        let mut failed = Vec::new();
        let now = Instant::now();
        let list = &mut self.list;
        let (next_token, send_due) = (&mut self.next_token, &mut self.send_due);
        self.work.retain(|&i| {
            let t = &mut list[i];
            match t.dispatch(next_token, now) {
                Ok(Some(due)) => *send_due = Some(send_due.map_or(due, |d| d.min(due))),
                Ok(None) => {}
                Err(e) => failed.push((i, e)),
            }
            !t.idle()
        });
        for (i, reason) in failed {
            self.quarantine(i, reason).await;
        }
    }

    async fn quarantine(&mut self, index: usize, reason: String) {
        if let Some(worker) = self.list[index].quarantine(reason) {
            shut_down_worker(worker).await;
        }
    }

    /// A sink's answer. Returns whether a sink accepted a batch that moved its position. A
    /// failure stops the run (naming `slot`) unless tenants are quarantined instead.
    pub async fn on_outcome(
        &mut self,
        outcome: Option<Outcome>,
        slot: &str,
    ) -> anyhow::Result<bool> {
        self.dispatch_due = true;
        let Some(outcome) = outcome else {
            anyhow::bail!("the sink threads stopped unexpectedly");
        };
        let token = match &outcome {
            Outcome::Accepted { token }
            | Outcome::Failed { token, .. }
            | Outcome::Cancelled { token } => *token,
        };
        let Some(index) = self
            .work
            .iter()
            .copied()
            .find(|&i| self.list[i].awaits(token))
        else {
            return Ok(false);
        };
        match outcome {
            Outcome::Accepted { .. } => Ok(self.list[index].accepted_in_flight()),
            Outcome::Cancelled { .. } => {
                self.list[index].cancelled_in_flight();
                Ok(false)
            }
            Outcome::Failed { error, .. } => {
                if !self.quarantine {
                    let t = &self.list[index];
                    return Err(SetupError::new(format!(
                        "{error}; nothing after {} was acknowledged, so the changes stay in slot \
                         {slot:?} until the sink accepts them",
                        t.durable().lsn
                    ))
                    .into());
                }
                self.quarantine(index, error).await;
                Ok(false)
            }
        }
    }

    /// After a reconnect: see [`Tenant::restart_from_durable`].
    pub fn restart_from_durable(&mut self) {
        self.dispatch_due = true;
        for t in &mut self.list {
            t.restart_from_durable();
        }
        self.work = (0..self.list.len()).collect();
    }

    /// Makes the batches being retried give up (a stop was requested).
    pub fn cancel_retries(&self) {
        for t in &self.list {
            t.cancel_retries();
        }
    }

    /// Some tenant's position moved past what is on disk.
    pub fn moved(&self) -> bool {
        self.list.iter().any(|t| t.position() != t.durable())
    }

    /// Every tenant's position, by id, in tenant order (what a checkpoint write stores).
    pub fn positions(&self) -> Vec<(String, Position)> {
        self.list
            .iter()
            .map(|t| (t.id().to_string(), t.position()))
            .collect()
    }

    /// A checkpoint write made these positions (in tenant order) durable.
    pub fn made_durable(&mut self, written: Vec<Position>) {
        for (t, p) in self.list.iter_mut().zip(written) {
            t.made_durable(p);
        }
    }

    pub fn warn_lag(&mut self, received: Lsn, limit: u64) {
        let floor = self.floor;
        for t in &mut self.list {
            t.warn_lag(received, floor, limit);
        }
    }

    /// The queues' memory: (held now, most held at once, budget), in bytes.
    pub fn queue_memory(&self) -> (usize, usize, usize) {
        (self.memory.used(), self.memory.peak(), self.memory.limit())
    }

    pub fn status(&self, received: Lsn) -> Vec<TenantStatus> {
        self.list
            .iter()
            .map(|t| t.status(received, self.floor))
            .collect()
    }

    /// Where the slot stood when streaming began: a tenant without a position yet lags from
    /// there, not from 0/0 (which would count the server's whole WAL history as lag).
    pub fn set_floor(&mut self, floor: Lsn) {
        self.floor = self.floor.max(floor);
    }

    /// Stops every sink (calling its `close`), all closes queued at once so that they run side by
    /// side on the sink threads.
    pub async fn shut_down(&mut self) {
        let closing: Vec<_> = self
            .list
            .iter_mut()
            .filter_map(Tenant::take_worker)
            .map(SinkWorker::shut_down)
            .collect();
        for closed in closing {
            report_close(closed.await);
        }
    }
}

/// Stops a sink (calling its `close`) after its current call.
async fn shut_down_worker(worker: SinkWorker) {
    report_close(worker.shut_down().await);
}

fn report_close(closed: Result<Result<(), String>, tokio::sync::oneshot::error::RecvError>) {
    match closed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("sink close failed: {e}"),
        Err(_) => tracing::warn!("sink close was not answered: the sink threads stopped"),
    }
}
