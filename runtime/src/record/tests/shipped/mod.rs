//! The generator of the shipped event files (tests/events/*.jsonl): one function per file, run by
//! `write_shipped_event_files` in the parent module.

use super::*;

mod every_kind;
mod exact;
mod others;
mod snapshot;

pub use every_kind::every_kind;
pub use exact::exact_values;
pub use others::{batches, large, toast_and_keys, unicode};
pub use snapshot::snapshot;

/// The commit time the generated transactions count from.
pub const T0: i64 = 1_795_515_330_123_456; // 2026-11-24T10:15:30.123456Z

pub struct File {
    pub batches: Vec<(Option<&'static str>, Batch)>,
}

impl File {
    pub fn text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        for (i, (note, b)) in self.batches.iter().enumerate() {
            let mut lines = String::new();
            batch_lines(b, i as u64, &mut lines);
            if let Some(note) = note {
                let at = lines.find(",\"relations\":").unwrap();
                let mut n = String::new();
                n.push_str(",\"note\":");
                n.push_str(&serde_json::to_string(note).unwrap());
                lines.insert_str(at, &n);
            }
            out.push_str(&lines);
        }
        out
    }
}

pub fn rel(oid: u32, schema: &str, name: &str, cols: &[(&str, &str, u32, bool)]) -> Relation {
    Relation {
        oid,
        schema: schema.into(),
        name: name.into(),
        columns: cols.iter().map(|(n, t, o, k)| col(n, t, *o, *k)).collect(),
    }
}

/// A transaction's changes get consecutive seqs; each transaction its own xid and LSNs.
pub struct Tx {
    pub xid: u32,
    pub lsn: u64,
    pub time: i64,
    pub seq: u32,
}

impl Tx {
    pub fn new(xid: u32, lsn: u64, time: i64) -> Tx {
        Tx {
            xid,
            lsn,
            time,
            seq: 0,
        }
    }
    pub fn change(
        &mut self,
        op: Operation,
        relation: u32,
        new: Option<Vec<Value>>,
        old: Option<(bool, Vec<Value>)>,
    ) -> Change {
        let c = Change {
            op,
            relation,
            new,
            old: old.map(|(key_only, values)| OldRow { key_only, values }),
            xid: self.xid,
            commit_lsn: self.lsn,
            end_lsn: self.lsn + 0x30,
            commit_time: self.time,
            seq: self.seq,
        };
        self.seq += 1;
        c
    }
    pub fn ins(&mut self, relation: u32, new: Vec<Value>) -> Change {
        self.change(Operation::Insert, relation, Some(new), None)
    }
}

pub fn t(s: &str) -> Value {
    Value::Text(s.into())
}
pub fn j(s: &str) -> Value {
    Value::Json(s.into())
}
pub fn f(x: f64) -> Value {
    Value::Float(x)
}
