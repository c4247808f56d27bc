//! A tenant's overflow queue on disk.
//!
//! With several tenants on one stream, the loop cannot stop reading because one tenant's sink is
//! slow: the others would wait for it. Past its in-memory bound, a tenant's share of each
//! transaction is appended here instead, and read back in order as its sink catches up. Memory
//! stays bounded; the price is disk, and the slot keeps the WAL anyway until the slow tenant has
//! accepted it (the lag warning names it). The file holds nothing that the slot cannot replay, so
//! it is thrown away on start and after a reconnect.
//!
//! Parts are stored in the recorded-events format ([`crate::record`]), which keeps every value
//! distinction a sink sees; what the format does not carry (the transaction's end and whether
//! this part completes it) stays in memory, one small header per part.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::assemble::{RelationInfo, RowChange, Transaction};
use crate::record::{batch_lines, EventReader};

use super::batcher::into_batch;

/// The read buffer's size. Every tenant may be spilling at once (all queues over their memory
/// budget), so a tenant's buffers must stay small: at 256 KiB for reading and writing each, a
/// thousand tenants' backlogs held 512 MiB. Parts are written whole, and are a call's worth.
const BUFFER: usize = 16 << 10;

/// What stays in memory of a spilled part.
struct PartHeader {
    txn: Transaction,
    changes: usize,
    last: bool,
}

pub struct Backlog {
    path: PathBuf,
    /// One descriptor for writing and reading back: a tenant holds one file while it spills,
    /// and every tenant may be spilling at once (10,000 tenants in 20,000 descriptors).
    writer: Option<Arc<File>>,
    reader: Option<EventReader<BufReader<ReadAt>>>,
    parts: VecDeque<PartHeader>,
    changes: usize,
    written: u64,
    /// Size of the file: it only grows until everything in it was read back.
    bytes: u64,
    line: String,
}

impl Backlog {
    /// A backlog in `path`, which is created (replacing a stale one) on the first spill.
    pub fn new(path: PathBuf) -> Backlog {
        Backlog {
            path,
            writer: None,
            reader: None,
            parts: VecDeque::new(),
            changes: 0,
            written: 0,
            bytes: 0,
            line: String::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Changes waiting on disk.
    pub fn changes(&self) -> usize {
        self.changes
    }

    /// Bytes of the file on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one part of a transaction; `last` marks the part that completes it.
    pub fn push(&mut self, txn: Transaction, last: bool) -> io::Result<()> {
        if self.writer.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = Arc::new(
                OpenOptions::new()
                    .create(true)
                    .read(true)
                    .append(true)
                    .open(&self.path)?,
            );
            // `append` does not truncate: a stale file from a killed run is emptied first.
            file.set_len(0)?;
            self.reader = Some(EventReader::new(
                self.path.display().to_string(),
                BufReader::with_capacity(
                    BUFFER,
                    ReadAt {
                        file: file.clone(),
                        at: 0,
                    },
                ),
            ));
            self.writer = Some(file);
        }
        let changes = txn.changes.len();
        let header = Transaction {
            changes: Vec::new(),
            ..Transaction::header_of(&txn)
        };
        self.line.clear();
        batch_lines(&into_batch(txn.changes), self.written, &mut self.line);
        let writer = self.writer.as_ref().expect("opened above");
        // The reader must never meet half a part: every part reaches the file whole, in one
        // write of the part's lines.
        (&**writer).write_all(self.line.as_bytes())?;
        self.written += 1;
        self.bytes += self.line.len() as u64;
        self.changes += changes;
        self.parts.push_back(PartHeader {
            txn: header,
            changes,
            last,
        });
        Ok(())
    }

    /// Takes the oldest part back; the file is removed once everything in it was read.
    pub fn pop(&mut self) -> io::Result<Option<(Transaction, bool)>> {
        let Some(header) = self.parts.pop_front() else {
            return Ok(None);
        };
        let reader = self.reader.as_mut().expect("a part was written");
        let batch = match reader.next_batch() {
            Ok(Some((_, batch))) => batch,
            Ok(None) => return Err(corrupt(&self.path, "it ends early")),
            Err(e) => return Err(corrupt(&self.path, &e.to_string())),
        };
        if batch.changes.len() != header.changes {
            return Err(corrupt(
                &self.path,
                "a part has the wrong number of changes",
            ));
        }
        // The batcher only needs each change's table description (and shares it by pointer);
        // parsing column text is long done, so the column kinds are not needed again.
        let relations: Vec<Arc<RelationInfo>> = batch
            .relations
            .into_iter()
            .map(|relation| {
                Arc::new(RelationInfo {
                    relation,
                    kinds: Vec::new(),
                })
            })
            .collect();
        let changes = batch
            .changes
            .into_iter()
            .map(|change| {
                let relation = relations
                    .get(change.relation as usize)
                    .ok_or_else(|| corrupt(&self.path, "a change names no table"))?
                    .clone();
                Ok(RowChange { relation, change })
            })
            .collect::<io::Result<_>>()?;
        self.changes -= header.changes;
        if self.parts.is_empty() {
            self.clear();
        }
        Ok(Some((
            Transaction {
                changes,
                ..header.txn
            },
            header.last,
        )))
    }

    /// Drops everything (quarantine, reconnect, or fully read back).
    pub fn clear(&mut self) {
        self.parts.clear();
        self.changes = 0;
        self.written = 0;
        self.bytes = 0;
        if self.writer.take().is_some() {
            self.reader = None;
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::debug!("could not remove {}: {e}", self.path.display());
            }
        }
    }
}

impl Drop for Backlog {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Reads the backlog file from its own offset, through the descriptor the writer appends with.
struct ReadAt {
    file: Arc<File>,
    at: u64,
}

impl Read for ReadAt {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

fn corrupt(path: &Path, why: &str) -> io::Error {
    io::Error::other(format!(
        "the backlog file {} cannot be read back ({why}); was it changed by something else?",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Change, Column, Operation, Relation, Value};

    fn rel() -> Arc<RelationInfo> {
        Arc::new(RelationInfo {
            relation: Relation {
                oid: 16384,
                schema: "public".into(),
                name: "t".into(),
                columns: vec![Column {
                    name: "id".into(),
                    type_name: "integer".into(),
                    type_oid: 23,
                    key: true,
                }],
            },
            kinds: Vec::new(),
        })
    }

    fn txn(end_lsn: u64, ids: &[i64], rel: &Arc<RelationInfo>) -> Transaction {
        Transaction {
            xid: end_lsn as u32,
            commit_lsn: end_lsn - 8,
            end_lsn,
            commit_time: 1_700_000_000_000_000,
            changes: ids
                .iter()
                .enumerate()
                .map(|(seq, id)| RowChange {
                    relation: rel.clone(),
                    change: Change {
                        op: Operation::Insert,
                        relation: 0,
                        xid: end_lsn as u32,
                        commit_lsn: end_lsn - 8,
                        end_lsn,
                        commit_time: 1_700_000_000_000_000,
                        seq: seq as u32,
                        new: Some(vec![Value::Int(*id)]),
                        old: None,
                    },
                })
                .collect(),
        }
    }

    fn ids(t: &Transaction) -> Vec<i64> {
        t.changes
            .iter()
            .map(|c| match c.change.new.as_deref() {
                Some([Value::Int(id)]) => *id,
                other => panic!("unexpected row {other:?}"),
            })
            .collect()
    }

    #[test]
    fn parts_come_back_in_order_with_their_headers_while_more_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backlog").join("t.jsonl");
        let rel = rel();
        let mut backlog = Backlog::new(path.clone());
        backlog.push(txn(100, &[1, 2], &rel), false).unwrap();
        backlog.push(txn(100, &[3], &rel), true).unwrap();
        assert_eq!(backlog.changes(), 3);
        let (first, last) = backlog.pop().unwrap().unwrap();
        assert_eq!((ids(&first), last, first.end_lsn), (vec![1, 2], false, 100));
        // Written after a read: the reader picks up where it stopped.
        backlog.push(txn(200, &[], &rel), true).unwrap();
        backlog.push(txn(300, &[4], &rel), true).unwrap();
        let (second, last) = backlog.pop().unwrap().unwrap();
        assert_eq!((ids(&second), last, second.xid), (vec![3], true, 100));
        let (empty, last) = backlog.pop().unwrap().unwrap();
        assert_eq!((empty.changes.len(), last, empty.end_lsn), (0, true, 200));
        let (fourth, _) = backlog.pop().unwrap().unwrap();
        assert_eq!(ids(&fourth), vec![4]);
        assert_eq!(fourth.changes[0].relation.relation.name, "t");
        assert!(backlog.is_empty() && backlog.changes() == 0);
        assert!(!path.exists(), "a drained backlog leaves no file behind");
        assert!(backlog.pop().unwrap().is_none());
        // And it starts a fresh file when spilling again.
        backlog.push(txn(400, &[5], &rel), true).unwrap();
        assert_eq!(ids(&backlog.pop().unwrap().unwrap().0), vec![5]);
    }

    #[test]
    fn a_changed_file_is_an_error_not_a_silent_skip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let rel = rel();
        let mut backlog = Backlog::new(path.clone());
        backlog.push(txn(100, &[1], &rel), true).unwrap();
        std::fs::write(&path, "").unwrap();
        let err = backlog.pop().unwrap_err().to_string();
        assert!(err.contains("cannot be read back"), "{err}");
    }
}
