//! All tenants of a run: handing transactions to each, sending their batches, taking their
//! sinks' answers, and quarantining the ones that fail.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::backlog::Backlog;
use super::budget::QueueMemory;
use super::status::TenantStatus;
use super::tenant::{offered_after, Tenant, TenantSetup};
use super::worker::{Outcome, SinkWorker};
use crate::assemble::Transaction;
use crate::checkpoint::Position;
use crate::error::SetupError;
use crate::event::Lsn;
use crate::route::RouteIndex;
use std::collections::BTreeMap;

pub(super) struct Tenants {
    /// The budget of all queues together (see `budget`).
    memory: Arc<QueueMemory>,
    list: Vec<Tenant>,
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
    /// Which tenants may receive which changes (see [`RouteIndex`]); `None` with a single tenant
    /// that receives everything.
    index: Option<RouteIndex>,
    /// Everything handed to the tenants in this session: an idle tenant's position (see
    /// `tenant/offer.rs`), so that tenants that receive nothing of a transaction cost nothing.
    offered: Position,
    /// Tenants that may have something queued or in flight: every tenant that does is here (a
    /// tenant is added when something is queued for it and leaves at the first dispatch pass
    /// that finds it idle). The loop asks whether any is in flight or full, and dispatches, on
    /// every turn; asking only these makes idle tenants cost nothing there either.
    pending: Vec<usize>,
    is_pending: Vec<bool>,
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
        let list = setups
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
            .collect::<Vec<Tenant>>();
        let index = match list.as_slice() {
            [only] if only.routes_everything() => None,
            list => Some(RouteIndex::new(list.iter().map(Tenant::grants).collect())),
        };
        Tenants {
            memory,
            is_pending: vec![false; list.len()],
            pending: Vec::new(),
            list,
            index,
            offered: Position::default(),
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
        self.pending.iter().any(|&i| self.list[i].full())
    }

    pub fn any_in_flight(&self) -> bool {
        self.pending.iter().any(|&i| self.list[i].in_flight())
    }

    /// Notes that tenant `i` may have something queued.
    fn queued_for(&mut self, i: usize) {
        if !self.is_pending[i] && !self.list[i].idle() {
            self.is_pending[i] = true;
            self.pending.push(i);
        }
    }

    /// Every active tenant has nothing queued or in flight.
    pub fn all_idle(&self) -> bool {
        self.pending.iter().all(|&i| {
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
            t.advance_idle(wal_end, &self.offered);
        }
    }

    /// Hands a transaction (or a part of a large one; `last` marks its last part) to the
    /// tenants, each taking what its grants let it see. Only tenants the routing index finds
    /// candidates for some change are visited, with those changes only; the others' positions
    /// follow `offered`, moved once here.
    pub async fn offer(&mut self, txn: Transaction, last: bool) {
        self.dispatch_due = true;
        let mut failed = Vec::new();
        let offered = self.offered;
        let mut next = offered;
        offered_after(&mut next, &txn, last);
        match (&mut self.index, self.list.as_mut_slice()) {
            (Some(index), tenants) => {
                let shares = index.share(&txn.changes);
                for &t in shares.touched() {
                    let tenant = &mut tenants[t as usize];
                    if let Err(e) = tenant.offer_share(&txn, shares.of(t), last, &offered) {
                        failed.push((t as usize, e));
                    }
                    if !tenant.idle() && !self.is_pending[t as usize] {
                        self.is_pending[t as usize] = true;
                        self.pending.push(t as usize);
                    }
                }
            }
            (None, [only]) => {
                if let Err(e) = only.push(txn, last, &offered) {
                    failed.push((0, e));
                }
                self.queued_for(0);
            }
            (None, _) => {}
        }
        for (i, reason) in failed {
            self.quarantine(i, reason).await;
        }
        // After the quarantines: a tenant whose routing failed stops before this transaction.
        self.offered = next;
    }

    /// Hands a part of a transaction to some tenants only (a backfill's reads, queued right
    /// before the watermark transaction they belong to).
    pub async fn offer_to(&mut self, ids: &[String], part: Transaction) {
        self.dispatch_due = true;
        let mut failed = Vec::new();
        for i in 0..self.list.len() {
            let t = &mut self.list[i];
            if ids.iter().any(|id| id == t.id()) {
                if let Err(e) = t.offer_part(&part, false, &self.offered) {
                    failed.push((i, e));
                }
                self.queued_for(i);
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
        for &i in &self.pending {
            match self.list[i].dispatch(&mut self.next_token, now) {
                Ok(Some(due)) => self.send_due = Some(self.send_due.map_or(due, |d| d.min(due))),
                Ok(None) => {}
                Err(e) => failed.push((i, e)),
            }
        }
        for (i, reason) in failed {
            self.quarantine(i, reason).await;
        }
        let (list, is_pending) = (&self.list, &mut self.is_pending);
        self.pending.retain(|&i| {
            let keep = !list[i].idle();
            is_pending[i] = keep;
            keep
        });
    }

    async fn quarantine(&mut self, index: usize, reason: String) {
        self.list[index].catch_up(&self.offered);
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
        let found = self.pending.iter().find(|&&i| self.list[i].awaits(token));
        let Some(&index) = found else {
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
            t.catch_up(&self.offered);
            t.restart_from_durable();
        }
        // The server sends again what follows the slot's position; nothing of it is offered yet.
        self.offered = Position::default();
        self.pending.clear();
        self.is_pending.fill(false);
    }

    /// Makes the batches being retried give up (a stop was requested).
    pub fn cancel_retries(&self) {
        for t in &self.list {
            t.cancel_retries();
        }
    }

    /// Some tenant's position moved past what is on disk.
    pub fn moved(&self) -> bool {
        self.list
            .iter()
            .any(|t| t.position(&self.offered) != t.durable())
    }

    /// Every tenant's position, by id, in tenant order (what a checkpoint write stores).
    pub fn positions(&self) -> Vec<(String, Position)> {
        self.list
            .iter()
            .map(|t| (t.id().to_string(), t.position(&self.offered)))
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

    /// The queues' memory: (held now, most held at once, budget), in bytes.
    pub fn queue_memory(&self) -> (usize, usize, usize) {
        (self.memory.used(), self.memory.peak(), self.memory.limit())
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
