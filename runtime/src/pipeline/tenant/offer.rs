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
    /// everything offered so far, unless a call was given up (then what it carried is lost
    /// until the server sends it again).
    fn follows(&self) -> bool {
        self.active() && self.idle() && !self.gave_up
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
        let changes = self.route_new(end, candidates.iter().map(|&i| &txn.changes[i as usize]))?;
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

    /// Of the changes of the transaction ending at `end`, those not delivered in an earlier
    /// session (`skip`), as this tenant's grants let it see them. An error quarantines it.
    fn route_new<'a>(
        &mut self,
        end: Lsn,
        changes: impl Iterator<Item = &'a RowChange>,
    ) -> Result<Vec<RowChange>, String> {
        let skip = self.skip;
        let mut out = Vec::new();
        for rc in changes.filter(|c| !skip.covers(end, c.change.seq)) {
            match &mut self.router {
                Some(router) => {
                    if let Some(routed) = router
                        .route(rc)
                        .map_err(|e| format!("routing failed: {e}"))?
                    {
                        out.push(routed);
                    }
                }
                None => out.push(rc.clone()),
            }
        }
        Ok(out)
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
        let changes = self.route_new(end, txn.changes.iter())?;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{InFlight, TenantSetup, TenantState};
    use super::*;
    use crate::pipeline::batcher::tests::{rel, txn};
    use crate::route::{Grant, TenantGrants, TenantRouter};

    /// An active tenant granted `public.a`, without a sink (the tests play its answers).
    fn tenant(stored: Position) -> Tenant {
        let grant = Grant {
            tables: vec!["public.a".into()],
            ..Grant::default()
        };
        let setup = TenantSetup {
            id: "t".into(),
            router: Some(TenantRouter::new(TenantGrants::new("t", &[grant]).unwrap())),
            worker: Err("no sink in this test".into()),
            max_batch: 100,
            max_queue: 1_000,
            batch_wait: Duration::ZERO,
        };
        let mut t = Tenant::new(setup, stored, None);
        t.state = TenantState::Active;
        t
    }

    fn at(lsn: u64, partial: Option<(u64, u32)>) -> Position {
        Position {
            lsn: Lsn(lsn),
            partial: partial.map(|(end, seq)| Partial {
                end_lsn: Lsn(end),
                seq,
            }),
        }
    }

    /// The sink accepts everything queued, as `dispatch` and `accepted_in_flight` would.
    fn accept_all(t: &mut Tenant) {
        while let Some(b) = t.batcher.next_batch() {
            t.in_flight = Some(InFlight {
                token: 0,
                ack: b.ack,
                partial: b.partial,
                changes: b.batch.changes.len(),
                oldest: 0,
            });
            t.accepted_in_flight();
        }
    }

    #[test]
    fn an_idle_tenant_follows_what_was_offered_and_a_stopped_one_does_not() {
        let a = rel("a");
        let mut offered = Position::default();
        let mut t = tenant(at(50, None));
        assert_eq!(t.position(&offered), at(50, None), "its stored position");
        offered_after(&mut offered, &txn(100, 2, &a), true);
        assert_eq!(t.position(&offered), at(100, None));
        t.catch_up(&offered);
        t.state = TenantState::Quarantined { reason: "x".into() };
        offered_after(&mut offered, &txn(200, 2, &a), true);
        assert_eq!(t.position(&offered), at(100, None), "held where it stopped");
    }

    #[test]
    fn a_tenant_with_changes_holds_its_own_position_until_they_are_accepted() {
        let a = rel("a");
        let mut offered = Position::default();
        let mut t = tenant(Position::default());
        offered_after(&mut offered, &txn(100, 2, &a), true);
        let mine = txn(200, 3, &a);
        t.offer_share(&mine, &[0, 2], true, &offered).unwrap();
        offered_after(&mut offered, &mine, true);
        offered_after(&mut offered, &txn(300, 1, &a), true);
        assert_eq!(t.queued_changes(), 2, "only its candidates");
        assert_eq!(
            t.position(&offered),
            at(100, None),
            "what was offered before its changes"
        );
        accept_all(&mut t);
        assert_eq!(t.position(&offered), at(300, None), "idle again: follows");
        assert_eq!(t.stats.delivered_changes, 2);
    }

    #[test]
    fn parts_of_a_transaction_count_as_accepted_for_tenants_that_see_none_of_them() {
        let a = rel("a");
        let mut offered = Position::default();
        let (mut idle, mut busy) = (tenant(at(300, None)), tenant(at(300, None)));
        let part = txn(500, 5, &a);
        busy.offer_share(&part, &[1], false, &offered).unwrap();
        offered_after(&mut offered, &part, false);
        assert_eq!(idle.position(&offered), at(300, Some((500, 4))));
        assert_eq!(busy.position(&offered), at(300, None));
        accept_all(&mut busy);
        assert_eq!(busy.position(&offered), at(300, Some((500, 4))));
        // The last part, without changes (an initial snapshot's end).
        offered_after(&mut offered, &Transaction::header_of(&part), true);
        assert_eq!(idle.position(&offered), at(500, None));
        idle.advance_idle(Lsn(600), &offered);
        assert_eq!(idle.position(&offered), at(600, None), "a keepalive");
    }

    #[test]
    fn a_call_given_up_at_a_stop_holds_the_position() {
        let a = rel("a");
        let mut offered = Position::default();
        let mut t = tenant(at(100, None));
        let mine = txn(200, 2, &a);
        t.offer_share(&mine, &[0, 1], true, &offered).unwrap();
        offered_after(&mut offered, &mine, true);
        let b = t.batcher.next_batch().unwrap();
        t.in_flight = Some(InFlight {
            token: 0,
            ack: b.ack,
            partial: b.partial,
            changes: 2,
            oldest: 0,
        });
        t.cancelled_in_flight();
        assert!(t.idle());
        assert_eq!(
            t.position(&offered),
            at(100, None),
            "not accepted: the next run delivers it"
        );
        t.restart_from_durable();
        assert_eq!(t.position(&Position::default()), at(100, None));
    }

    #[test]
    fn what_was_accepted_before_a_restart_is_not_queued_again() {
        let a = rel("a");
        let offered = Position::default();
        let mut t = tenant(at(100, Some((200, 1))));
        t.offer_share(&txn(100, 3, &a), &[0, 1, 2], true, &offered)
            .unwrap();
        assert_eq!(t.queued_changes(), 0, "accepted whole");
        t.offer_share(&txn(200, 3, &a), &[0, 1, 2], true, &offered)
            .unwrap();
        assert_eq!(t.queued_changes(), 1, "changes 0 and 1 were accepted");
        assert_eq!(t.position(&offered), at(100, Some((200, 1))));
        accept_all(&mut t);
        assert_eq!(t.position(&offered), at(200, None));
    }

    #[test]
    fn the_later_of_two_positions() {
        assert_eq!(
            later(at(100, Some((200, 3))), at(150, None)),
            at(150, Some((200, 3)))
        );
        assert_eq!(
            later(at(100, Some((200, 3))), at(100, Some((200, 7)))),
            at(100, Some((200, 7)))
        );
        assert_eq!(later(at(100, Some((200, 3))), at(200, None)), at(200, None));
    }
}
