//! What the stream changed of a table while one chunk of it was being read.
//!
//! Between the low and the high watermark, the key of every streamed change of the table is
//! noted; at the high watermark those rows are dropped from the chunk, since the stream has
//! already delivered something newer. A truncate in the window, or an update whose new row left
//! a TOASTed value out ("unchanged") for a key the chunk holds, means the chunk cannot be
//! reconciled row by row: it is read again.

use std::collections::HashSet;

use crate::assemble::Transaction;
use crate::event::{Operation, Value};

/// A key as a comparable string: the Debug form of its typed values (read rows and streamed
/// rows are typed by the same parser from the same text, so equal keys give equal strings).
pub fn key_of(row: &[Value], columns: &[usize]) -> String {
    let values: Vec<&Value> = columns.iter().filter_map(|&i| row.get(i)).collect();
    format!("{values:?}")
}

/// One chunk's window.
#[derive(Debug, Default)]
pub struct Window {
    /// The low watermark was seen: changes from here on are in the window.
    pub open: bool,
    /// Keys changed in the window.
    changed: HashSet<String>,
    /// Keys whose streamed update left a value out (unchanged TOAST).
    partial: HashSet<String>,
    /// Changes committed after the chunk was asked for but before its low watermark, by
    /// transaction: counted in the window when the chunk's snapshot did not see them.
    early: Vec<(u32, Vec<String>)>,
    /// A truncate came through: read the chunk again.
    pub truncated: bool,
}

impl Window {
    /// Notes the changes of `txn` to the table `oid` whose key is at `columns`.
    pub fn observe(&mut self, txn: &Transaction, oid: u32, columns: &[usize]) {
        let mut keys = Vec::new();
        for rc in txn.changes.iter().filter(|c| c.change.relation == oid) {
            let change = &rc.change;
            if change.op == Operation::Truncate {
                self.truncated |= self.open;
                continue;
            }
            if let Some(new) = &change.new {
                let key = key_of(new, columns);
                if self.open && new.iter().any(|v| matches!(v, Value::UnchangedToast)) {
                    self.partial.insert(key.clone());
                }
                keys.push(key);
            }
            if let Some(old) = &change.old {
                keys.push(key_of(&old.values, columns));
            }
        }
        if keys.is_empty() {
            return;
        }
        if self.open {
            self.changed.extend(keys);
        } else {
            self.early.push((txn.xid, keys));
        }
    }

    /// Closes the window for a chunk whose snapshot had `in_progress` transactions running:
    /// the keys to drop, or `None` when the chunk must be read again.
    pub fn close(mut self, chunk_keys: &[String], in_progress: &[u32]) -> Option<HashSet<String>> {
        if self.truncated || chunk_keys.iter().any(|k| self.partial.contains(k)) {
            return None;
        }
        for (xid, keys) in self.early {
            if in_progress.contains(&xid) {
                self.changed.extend(keys);
            }
        }
        Some(self.changed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::assemble::{RelationInfo, RowChange, TypeRegistry};
    use crate::event::{Change, OldRow};

    /// An operation with its new and old row.
    type Row = (Operation, Option<Vec<Value>>, Option<Vec<Value>>);

    fn txn(xid: u32, changes: Vec<Row>) -> Transaction {
        let relation = RelationInfo::from_catalog(
            16384,
            "public",
            "t",
            &[("id".into(), 23, true), ("v".into(), 25, false)],
            &TypeRegistry::default(),
        );
        Transaction {
            xid,
            commit_lsn: 1,
            end_lsn: 2,
            commit_time: 0,
            changes: changes
                .into_iter()
                .enumerate()
                .map(|(seq, (op, new, old))| RowChange {
                    relation: Arc::clone(&relation),
                    change: Change {
                        op,
                        relation: 16384,
                        new,
                        old: old.map(|values| OldRow {
                            key_only: true,
                            values,
                        }),
                        xid,
                        commit_lsn: 1,
                        end_lsn: 2,
                        commit_time: 0,
                        seq: seq as u32,
                    },
                })
                .collect(),
        }
    }

    fn row(id: i64, v: Value) -> Option<Vec<Value>> {
        Some(vec![Value::Int(id), v])
    }

    #[test]
    fn changed_keys_are_dropped_and_early_ones_only_when_unseen() {
        let mut w = Window::default();
        w.observe(
            &txn(10, vec![(Operation::Update, row(1, Value::Null), None)]),
            16384,
            &[0],
        );
        w.observe(
            &txn(11, vec![(Operation::Update, row(2, Value::Null), None)]),
            16384,
            &[0],
        );
        w.open = true;
        w.observe(
            &txn(12, vec![(Operation::Delete, None, row(3, Value::Null))]),
            16384,
            &[0],
        );
        let keys: Vec<String> = (1..=4).map(|i| key_of(&[Value::Int(i)], &[0])).collect();
        let dropped = w.close(&keys, &[11]).expect("no reread");
        assert!(
            !dropped.contains(&keys[0]),
            "committed before, seen by the chunk"
        );
        assert!(
            dropped.contains(&keys[1]),
            "committed before the low mark, unseen"
        );
        assert!(dropped.contains(&keys[2]), "in the window");
        assert!(!dropped.contains(&keys[3]));
    }

    #[test]
    fn truncates_and_left_out_values_make_a_reread() {
        let mut w = Window {
            open: true,
            ..Window::default()
        };
        w.observe(
            &txn(5, vec![(Operation::Truncate, None, None)]),
            16384,
            &[0],
        );
        assert!(w.close(&[], &[]).is_none());
        let mut w = Window {
            open: true,
            ..Window::default()
        };
        w.observe(
            &txn(
                5,
                vec![(Operation::Update, row(7, Value::UnchangedToast), None)],
            ),
            16384,
            &[0],
        );
        let seven = key_of(&[Value::Int(7)], &[0]);
        let eight = key_of(&[Value::Int(8)], &[0]);
        assert!(
            w.close(std::slice::from_ref(&eight), &[]).is_some(),
            "not in this chunk"
        );
        let mut w = Window {
            open: true,
            ..Window::default()
        };
        w.observe(
            &txn(
                5,
                vec![(Operation::Update, row(7, Value::UnchangedToast), None)],
            ),
            16384,
            &[0],
        );
        assert!(w.close(&[seven, eight], &[]).is_none());
    }
}
