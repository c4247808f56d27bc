//! `snapshot.jsonl`: an initial snapshot's reads, then the stream that continues from it.

use std::path::Path;

use super::*;
use Value as V;

/// The replication slot's consistent point: every read's `commit_lsn` and `end_lsn`.
const CONSISTENT_POINT: u64 = 0x3_0000_0100;

/// A row read by the snapshot: `xid` 0, the consistent point, the snapshot's time, and `seq`
/// counting across all tables of the snapshot.
fn read(relation: u32, seq: u32, new: Vec<Value>) -> Change {
    Change {
        op: Operation::Read,
        relation,
        new: Some(new),
        old: None,
        xid: 0,
        commit_lsn: CONSISTENT_POINT,
        end_lsn: CONSISTENT_POINT,
        commit_time: T0 + 50,
        seq,
    }
}

/// Writes `snapshot.jsonl`: two tables read (the second across two batches), then a streamed
/// transaction that inserts a row and updates a row the snapshot read.
pub fn snapshot(dir: &Path) {
    let customers = rel(
        16_450,
        "public",
        "customers",
        &[("id", "integer", 23, true), ("name", "text", 25, false)],
    );
    let orders = rel(
        16_451,
        "sales",
        "orders",
        &[
            ("id", "bigint", 20, true),
            ("customer", "integer", 23, false),
            ("total", "numeric(12,2)", 1700, false),
        ],
    );
    let order = |id: i64, customer: i64, total: &str| {
        vec![V::Int(id), V::Int(customer), V::Numeric(total.into())]
    };
    let mut tx = Tx::new(780, CONSISTENT_POINT + 0x200, T0 + 60);
    let insert = tx.ins(0, vec![V::Int(3), t("Chidi")]);
    let update = tx.change(
        Operation::Update,
        1,
        Some(order(10, 1, "12.00")),
        Some((true, vec![V::Int(10), V::Null, V::Null])),
    );
    let file = File {
        batches: vec![
            (
                Some("an initial snapshot: rows that existed, op read, xid 0, seq across tables"),
                Batch {
                    relations: vec![customers.clone(), orders.clone()],
                    changes: vec![
                        read(0, 0, vec![V::Int(1), t("Ada")]),
                        read(0, 1, vec![V::Int(2), V::Null]),
                        read(1, 2, order(10, 1, "9.50")),
                    ],
                },
            ),
            (
                Some("the snapshot continues"),
                Batch {
                    relations: vec![orders.clone()],
                    changes: vec![read(0, 3, order(11, 2, "0.00"))],
                },
            ),
            (
                Some("streaming continues from the consistent point"),
                Batch {
                    relations: vec![customers, orders],
                    changes: vec![insert, update],
                },
            ),
        ],
    };
    std::fs::write(dir.join("snapshot.jsonl"), file.text()).unwrap();
}
