//! What a tenant is offered of each transaction, and where that leaves its position.
//!
//! With many tenants most receive nothing of most transactions. They are not visited for them
//! at all: [`Tenants`](super::super::tenants::Tenants) keeps one watermark, `offered`, of
//! everything handed out so far (the last transaction offered whole, and the part of the one
//! being offered in parts), and a tenant with nothing queued or in flight takes its position
//! from it ([`Tenant::position`]). Everything offered was either routed to such a tenant and
//! accepted, or not for it, so its position is the watermark. Before such a tenant's state
//! changes (something is queued for it, it is quarantined, the connection restarts) it takes
//! the watermark as its own ([`Tenant::catch_up`]), so that it never falls behind what it had.
//! Measured cost before: moving every idle tenant's position for every transaction made 1,000
//! tenants 1,000 calls per transaction even with nothing to route.

use super::Tenant;
use crate::assemble::{RowChange, Transaction};
use crate::checkpoint::{Partial, Position};
use crate::event::Lsn;

/// The later of two positions: the higher LSN, and the furthest part of a later transaction.
pub(in crate::pipeline) fn later(a: Position, b: Position) -> Position {
    let lsn = a.lsn.max(b.lsn);
    let partial = [a.partial, b.partial]
        .into_iter()
        .flatten()
        .filter(|p| p.end_lsn > lsn)
        .max_by_key(|p| (p.end_lsn, p.seq));
    Position { lsn, partial }
}

/// `offered` after handing out `txn` (`last`: its last part).
pub(in crate::pipeline) fn offered_after(offered: &mut Position, txn: &Transaction, last: bool) {
    let end = Lsn(txn.end_lsn);
    if last {
        offered.lsn = offered.lsn.max(end);
        offered.partial = None;
    } else if let Some(c) = txn.changes.last() {
        offered.partial = Some(Partial {
            end_lsn: end,
            seq: c.change.seq,
        });
    }
}

impl Tenant {
    /// Follows `offered`: an active tenant with nothing queued or in flight has accepted
    /// everything offered so far.
    fn follows(&self) -> bool {
        self.active() && self.idle()
    }

    /// Where the tenant stands now (what a checkpoint write stores), given what has been
    /// offered to all tenants.
    pub fn position(&self, offered: &Position) -> Position {
        let own = Position {
            lsn: self.accepted.max(self.durable.lsn),
            partial: self.partial,
        };
        later(own, if self.follows() { *offered } else { own })
    }

    /// Takes `offered` as its own position if it follows it (before its state changes).
    pub fn catch_up(&mut self, offered: &Position) {
        if self.follows() {
            let p = self.position(offered);
            self.accepted = p.lsn;
            self.partial = p.partial;
        }
    }

    /// The server's WAL reached `wal_end` while nothing was open: nothing of this tenant lies
    /// between its position and there if it has nothing pending, so its position moves there
    /// (an idle or filtered-out database need not hold WAL).
    pub fn advance_idle(&mut self, wal_end: Lsn, offered: &Position) {
        if self.follows() && self.position(offered).partial.is_none() {
            self.catch_up(offered);
            self.accepted = self.accepted.max(wal_end);
        }
    }

    /// Whether the tenant's grants cover `schema.table` (a tenant without grants sees all).
    pub fn sees(&self, schema: &str, table: &str) -> bool {
        self.router
            .as_ref()
            .is_none_or(|r| r.grants().grant_for(schema, table).is_some())
    }

    pub fn routes_everything(&self) -> bool {
        self.router.is_none()
    }

    /// The grants the routing index needs (`None`: everything).
    pub fn grants(&self) -> Option<crate::route::TenantGrants> {
        self.router.as_ref().map(|r| r.grants().clone())
    }

    /// Queues what this tenant may see of `txn`'s changes at `candidates` (indices, ascending,
    /// from the routing index; the other changes are not for it); `last` marks a transaction's
    /// last part. When nothing is for it the tenant is left as it is: its position follows
    /// `offered`. Returns an error message when routing failed, which quarantines the tenant.
    pub fn offer_share(
        &mut self,
        txn: &Transaction,
        candidates: &[u32],
        last: bool,
        offered: &Position,
    ) -> Result<(), String> {
        let end = Lsn(txn.end_lsn);
        if !self.active() || end <= self.skip.lsn {
            return Ok(());
        }
        let skip = self.skip;
        let mut changes = Vec::new();
        for rc in candidates
            .iter()
            .map(|&i| &txn.changes[i as usize])
            .filter(|c| !skip.covers(end, c.change.seq))
        {
            match &mut self.router {
                Some(router) => {
                    if let Some(routed) = router
                        .route(rc)
                        .map_err(|e| format!("routing failed: {e}"))?
                    {
                        changes.push(routed);
                    }
                }
                None => changes.push(rc.clone()),
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        self.catch_up(offered);
        self.enqueue(
            Transaction {
                changes,
                ..Transaction::header_of(txn)
            },
            last,
        )
    }

    /// Queues the part of `txn` this tenant may see, routing every change (a backfill's reads,
    /// offered to some tenants only, outside the watermark). With nothing for it, an idle
    /// tenant's position moves on the spot and a busy one queues an empty part to acknowledge
    /// after what it holds.
    pub fn offer_part(
        &mut self,
        txn: &Transaction,
        last: bool,
        offered: &Position,
    ) -> Result<(), String> {
        let end = Lsn(txn.end_lsn);
        if !self.active() || end <= self.skip.lsn {
            return Ok(());
        }
        self.catch_up(offered);
        let skip = self.skip;
        let mut changes: Vec<RowChange> = Vec::new();
        for rc in txn
            .changes
            .iter()
            .filter(|c| !skip.covers(end, c.change.seq))
        {
            match &mut self.router {
                Some(router) => {
                    if let Some(routed) = router
                        .route(rc)
                        .map_err(|e| format!("routing failed: {e}"))?
                    {
                        changes.push(routed);
                    }
                }
                None => changes.push(rc.clone()),
            }
        }
        if changes.is_empty() && self.idle() {
            if last {
                self.accepted = self.accepted.max(end);
            } else if let Some(c) = txn.changes.last() {
                // Nothing of this part is for us: it counts as accepted, so that progress
                // measured in parts is not held up by tenants that see none of it.
                self.partial = Some(Partial {
                    end_lsn: end,
                    seq: c.change.seq,
                });
            }
            return Ok(());
        }
        self.enqueue(
            Transaction {
                changes,
                ..Transaction::header_of(txn)
            },
            last,
        )
    }

    /// Queues a whole transaction without routing or copying (a tenant that sees everything).
    pub fn push(
        &mut self,
        mut txn: Transaction,
        last: bool,
        offered: &Position,
    ) -> Result<(), String> {
        let end = Lsn(txn.end_lsn);
        if !self.active() || end <= self.skip.lsn {
            return Ok(());
        }
        self.catch_up(offered);
        if self.skip.partial.is_some_and(|p| p.end_lsn == end) {
            let skip = self.skip;
            txn.changes.retain(|c| !skip.covers(end, c.change.seq));
        }
        self.enqueue(txn, last)
    }
}
