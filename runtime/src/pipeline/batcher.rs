//! Committed transactions waiting for the sink, cut into bounded batches.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::budget::QueueMemory;
use crate::assemble::{RowChange, Transaction};
use crate::checkpoint::Partial;
use crate::event::{change_bytes, Batch, Lsn};

struct Queued {
    end_lsn: u64,
    /// What these changes hold in memory (see [`QueueMemory`]), 0 without a budget.
    bytes: usize,
    changes: VecDeque<RowChange>,
    /// The transaction's last part: accepting it acknowledges the transaction. A large streamed
    /// transaction arrives in several parts, queued one after the other.
    last: bool,
}

/// A batch ready for `publish`, and what accepting it lets us acknowledge.
pub struct ReadyBatch {
    pub batch: Batch,
    /// End LSN of the last transaction this batch completes; `None` when the batch is a slice
    /// from the middle of a large transaction, which must not be acknowledged yet.
    pub ack: Option<Lsn>,
    /// When the batch ends inside a transaction: that transaction and its last change here, so
    /// that a restart can resume after it (see [`crate::checkpoint::Position`]).
    pub partial: Option<Partial>,
}

/// FIFO of committed transactions. Small transactions are packed together into one batch; a
/// transaction larger than the bound is delivered in slices, acknowledged after its last one.
pub struct Batcher {
    max_changes: usize,
    queue: VecDeque<Queued>,
    queued_changes: usize,
    /// The budget of all tenants' queues this queue counts against (multi-tenant runs).
    memory: Option<Arc<QueueMemory>>,
}

impl Batcher {
    pub fn new(max_changes: usize) -> Batcher {
        Batcher {
            max_changes: max_changes.max(1),
            queue: VecDeque::new(),
            queued_changes: 0,
            memory: None,
        }
    }

    /// A queue whose changes count against `memory`.
    pub fn with_budget(max_changes: usize, memory: Arc<QueueMemory>) -> Batcher {
        let mut batcher = Batcher::new(max_changes);
        batcher.memory = Some(memory);
        batcher
    }

    /// All queues together hold their memory budget or more.
    pub fn over_budget(&self) -> bool {
        self.memory.as_ref().is_some_and(|m| m.exceeded())
    }

    /// The most changes one call takes.
    pub fn max_changes(&self) -> usize {
        self.max_changes
    }

    pub fn push(&mut self, txn: Transaction) {
        self.push_part(txn, true);
    }

    /// Queues part of a transaction; `last` marks the part that completes it.
    pub fn push_part(&mut self, txn: Transaction, last: bool) {
        self.queued_changes += txn.changes.len();
        let bytes = match &self.memory {
            Some(memory) => {
                let bytes = txn.changes.iter().map(|c| change_bytes(&c.change)).sum();
                memory.add(bytes);
                bytes
            }
            None => 0,
        };
        self.queue.push_back(Queued {
            end_lsn: txn.end_lsn,
            bytes,
            changes: txn.changes.into(),
            last,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn queued_changes(&self) -> usize {
        self.queued_changes
    }

    /// Commit time of the oldest change queued (µs since the Unix epoch).
    pub fn oldest_commit_time(&self) -> Option<i64> {
        self.queue
            .iter()
            .find_map(|q| q.changes.front())
            .map(|c| c.change.commit_time)
    }

    /// Whether the next batch would be smaller than the bound: nothing is queued but changes
    /// (with acknowledgements) that fit into one call.
    pub fn holds_less_than_a_batch(&self) -> bool {
        self.queued_changes < self.max_changes
    }

    pub fn clear(&mut self) {
        if let Some(memory) = &self.memory {
            memory.sub(self.queue.iter().map(|q| q.bytes).sum());
        }
        self.queue.clear();
        self.queued_changes = 0;
    }

    /// Takes the next batch off the queue. Transactions without changes (all their tables
    /// filtered out) produce a batch with no changes whose only purpose is the acknowledgement;
    /// the caller need not call the sink for it.
    pub fn next_batch(&mut self) -> Option<ReadyBatch> {
        let mut changes: Vec<RowChange> = Vec::new();
        let mut ack = None;
        let mut partial = None;
        while let Some(front) = self.queue.front_mut() {
            let room = self.max_changes - changes.len();
            if front.changes.len() > room && !changes.is_empty() {
                break;
            }
            let take = front.changes.len().min(room);
            // The share of the part's bytes that leaves with these changes (all of what is left
            // when the part is done), so the budget's count returns to 0 exactly.
            let freed = match front.changes.len() {
                n if n == take => front.bytes,
                n => front.bytes * take / n,
            };
            front.bytes -= freed;
            if let Some(memory) = &self.memory {
                memory.sub(freed);
            }
            changes.extend(front.changes.drain(..take));
            self.queued_changes -= take;
            if let Some(c) = changes.last().filter(|_| take > 0) {
                partial = Some(Partial {
                    end_lsn: Lsn(front.end_lsn),
                    seq: c.change.seq,
                });
            }
            if front.changes.is_empty() && front.last {
                partial = None;
            }
            if front.changes.is_empty() {
                if front.last {
                    ack = Some(Lsn(front.end_lsn));
                }
                self.queue.pop_front();
            } else {
                // A slice: what completed earlier in this batch may still be acknowledged.
                break;
            }
            if changes.len() == self.max_changes {
                break;
            }
        }
        if changes.is_empty() && ack.is_none() {
            return None;
        }
        Some(ReadyBatch {
            batch: into_batch(changes),
            ack,
            partial,
        })
    }
}

impl Drop for Batcher {
    /// A queue dropped with changes in it (a tenant stopped) gives its share of the budget back.
    fn drop(&mut self) {
        self.clear();
    }
}

/// Lists each table description once per batch and points the changes at it.
pub(super) fn into_batch(changes: Vec<RowChange>) -> Batch {
    let mut relations = Vec::new();
    let mut index: HashMap<*const crate::assemble::RelationInfo, u32> = HashMap::new();
    let changes = changes
        .into_iter()
        .map(|rc| {
            let at = *index.entry(Arc::as_ptr(&rc.relation)).or_insert_with(|| {
                relations.push(rc.relation.relation.clone());
                (relations.len() - 1) as u32
            });
            let mut change = rc.change;
            change.relation = at;
            change
        })
        .collect();
    Batch { relations, changes }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::assemble::RelationInfo;
    use crate::event::{Change, Operation, Relation};

    pub(in crate::pipeline) fn txn(end_lsn: u64, n: usize, rel: &Arc<RelationInfo>) -> Transaction {
        Transaction {
            xid: end_lsn as u32,
            commit_lsn: end_lsn - 1,
            end_lsn,
            commit_time: 0,
            changes: (0..n)
                .map(|seq| RowChange {
                    relation: rel.clone(),
                    change: Change {
                        op: Operation::Insert,
                        relation: 424242,
                        new: Some(vec![]),
                        old: None,
                        xid: end_lsn as u32,
                        commit_lsn: end_lsn - 1,
                        end_lsn,
                        commit_time: 0,
                        seq: seq as u32,
                    },
                })
                .collect(),
        }
    }

    pub(in crate::pipeline) fn rel(name: &str) -> Arc<RelationInfo> {
        Arc::new(RelationInfo {
            relation: Relation {
                oid: 1,
                schema: "public".into(),
                name: name.into(),
                columns: vec![],
            },
            kinds: vec![],
        })
    }

    #[test]
    fn packs_small_transactions_and_acks_the_last_complete_one() {
        let (a, b) = (rel("a"), rel("b"));
        let mut q = Batcher::new(10);
        q.push(txn(100, 3, &a));
        q.push(txn(200, 3, &b));
        q.push(txn(300, 5, &a));
        let first = q.next_batch().unwrap();
        assert_eq!(first.batch.changes.len(), 6);
        assert_eq!(first.ack, Some(Lsn(200)));
        assert_eq!(first.batch.relations.len(), 2);
        assert_eq!(first.batch.changes[3].relation, 1);
        let second = q.next_batch().unwrap();
        assert_eq!(
            (second.batch.changes.len(), second.ack),
            (5, Some(Lsn(300)))
        );
        assert!(q.next_batch().is_none());
        assert_eq!(q.queued_changes(), 0);
    }

    #[test]
    fn slices_a_large_transaction_and_acks_only_after_the_last_slice() {
        let a = rel("a");
        let mut q = Batcher::new(4);
        q.push(txn(100, 10, &a));
        q.push(txn(200, 1, &a));
        let acks: Vec<_> = std::iter::from_fn(|| q.next_batch())
            .map(|b| {
                (
                    b.batch.changes.first().map(|c| c.seq),
                    b.batch.changes.len(),
                    b.ack,
                    b.partial.map(|p| (p.end_lsn, p.seq)),
                )
            })
            .collect();
        assert_eq!(
            acks,
            vec![
                (Some(0), 4, None, Some((Lsn(100), 3))),
                (Some(4), 4, None, Some((Lsn(100), 7))),
                // The last slice shares its batch with the next transaction, so accepting it
                // acknowledges both.
                (Some(8), 3, Some(Lsn(200)), None),
            ]
        );
    }

    #[test]
    fn a_transaction_in_parts_is_acknowledged_after_its_last_part() {
        let a = rel("a");
        let mut q = Batcher::new(100);
        q.push(txn(100, 1, &a));
        q.push_part(txn(200, 3, &a), false);
        let first = q.next_batch().unwrap();
        assert_eq!(first.batch.changes.len(), 4);
        assert_eq!(first.ack, Some(Lsn(100)), "only the complete transaction");
        assert_eq!(
            first.partial.map(|p| (p.end_lsn, p.seq)),
            Some((Lsn(200), 2)),
            "and how far into the next one"
        );
        q.push_part(txn(200, 2, &a), false);
        q.push_part(txn(200, 0, &a), false);
        q.push_part(txn(200, 1, &a), true);
        let rest = q.next_batch().unwrap();
        assert_eq!((rest.batch.changes.len(), rest.ack), (3, Some(Lsn(200))));
        assert!(rest.partial.is_none());
        assert!(q.next_batch().is_none());
    }

    #[test]
    fn empty_transactions_only_acknowledge() {
        let a = rel("a");
        let mut q = Batcher::new(4);
        q.push(txn(100, 0, &a));
        q.push(txn(200, 0, &a));
        let b = q.next_batch().unwrap();
        assert!(b.batch.changes.is_empty());
        assert_eq!(b.ack, Some(Lsn(200)));
    }
}
