//! Collecting a transaction's changes between Begin and Commit.

use std::collections::HashMap;
use std::sync::Arc;

use super::relation::RelationInfo;
use super::types::TypeRegistry;
use super::value::parse_value;
use crate::decode::{pg_epoch_micros_to_unix_micros, Cell, Message, OldTuple, TupleData};
use crate::event::{Change, OldRow, Operation, Value};

/// The prefix of the logical messages this runtime writes into the WAL (backfill watermarks,
/// see `source::backfill`), and the only prefix it collects.
pub const MARK_PREFIX: &str = "conduit-wasm";

/// One change and the table description it refers to.
#[derive(Debug, Clone)]
pub struct RowChange {
    pub relation: Arc<RelationInfo>,
    pub change: Change,
}

/// A committed transaction, ready to deliver.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub xid: u32,
    pub commit_lsn: u64,
    pub end_lsn: u64,
    /// Microseconds since the Unix epoch.
    pub commit_time: i64,
    pub changes: Vec<RowChange>,
}

impl Transaction {
    /// The same transaction's identity without its changes.
    pub fn header_of(txn: &Transaction) -> Transaction {
        Transaction {
            xid: txn.xid,
            commit_lsn: txn.commit_lsn,
            end_lsn: txn.end_lsn,
            commit_time: txn.commit_time,
            changes: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("pgoutput stream out of order: {0}")]
    Protocol(String),
    #[error("change for relation {0} arrived before its Relation message")]
    UnknownRelation(u32),
    #[error("relation {table}: tuple has {got} columns, the Relation message said {want}")]
    ColumnCount {
        table: String,
        got: usize,
        want: usize,
    },
}

/// Turns the message stream of a pgoutput v1 session into transactions.
#[derive(Default)]
pub struct Assembler {
    types: TypeRegistry,
    relations: HashMap<u32, Arc<RelationInfo>>,
    open: Option<Transaction>,
    /// Sequence number of the open transaction's next change (parts taken off keep counting).
    next_seq: u32,
    /// Our own transactional logical messages (backfill watermarks) of the transactions
    /// completed since the last [`Assembler::take_marks`].
    marks: Vec<String>,
    /// When the newest heartbeat received was written (µs since the Unix epoch).
    heartbeat: Option<i64>,
}

/// What a heartbeat's content starts with (`pg_logical_emit_message(false, MARK_PREFIX, …)`,
/// written by `--heartbeat`), followed by its time of writing in µs since the Unix epoch.
pub const HEARTBEAT: &str = "heartbeat ";

impl Assembler {
    pub fn new(types: TypeRegistry) -> Assembler {
        Assembler {
            types,
            ..Default::default()
        }
    }

    /// True while a transaction has begun and not yet committed.
    pub fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// Type OIDs used by a Relation message that the registry does not know yet, so the caller can
    /// look them up in the catalog before applying it.
    pub fn unknown_types(&self, msg: &Message<'_>) -> Vec<u32> {
        match msg {
            Message::Relation(r) => r
                .columns
                .iter()
                .map(|c| c.type_oid)
                .filter(|oid| !self.types.contains(*oid))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn types(&self) -> &TypeRegistry {
        &self.types
    }

    pub fn types_mut(&mut self) -> &mut TypeRegistry {
        &mut self.types
    }

    /// Forgets a half-received transaction (after a reconnect the server sends it again).
    pub fn reset(&mut self) {
        self.open = None;
        self.marks.clear();
    }

    /// When the newest heartbeat received was written (see [`HEARTBEAT`]).
    pub fn heartbeat(&self) -> Option<i64> {
        self.heartbeat
    }

    /// The watermarks of the transaction just completed (empty for nearly every transaction).
    pub fn take_marks(&mut self) -> Vec<String> {
        std::mem::take(&mut self.marks)
    }

    /// The stream's description of a table, once a Relation message described it.
    pub fn relation_info(&self, oid: u32) -> Option<Arc<RelationInfo>> {
        self.relations.get(&oid).cloned()
    }

    /// Applies one message; returns the transaction it completed, if any.
    pub fn apply(&mut self, msg: Message<'_>) -> Result<Option<Transaction>, AssembleError> {
        match msg {
            Message::Begin(b) => {
                if self.open.is_some() {
                    return Err(AssembleError::Protocol("Begin inside a transaction".into()));
                }
                self.open = Some(Transaction {
                    xid: b.xid,
                    commit_lsn: b.final_lsn,
                    end_lsn: 0,
                    commit_time: pg_epoch_micros_to_unix_micros(b.commit_time),
                    changes: Vec::new(),
                });
                self.next_seq = 0;
            }
            Message::Commit(c) => {
                let mut txn = self
                    .open
                    .take()
                    .ok_or_else(|| AssembleError::Protocol("Commit without Begin".into()))?;
                txn.end_lsn = c.end_lsn;
                txn.commit_lsn = c.commit_lsn;
                for rc in &mut txn.changes {
                    rc.change.end_lsn = c.end_lsn;
                    rc.change.commit_lsn = c.commit_lsn;
                }
                return Ok(Some(txn));
            }
            Message::Relation(r) => {
                let info = RelationInfo::new(&r, &self.types);
                self.relations.insert(r.oid, info);
            }
            Message::Type(t) => self.types.learn_name(t.oid, t.namespace, t.name),
            Message::Insert(i) => {
                let rel = self.relation(i.relation_oid)?;
                let new = Some(row(&rel, &i.new)?);
                self.push(rel, Operation::Insert, new, None)?;
            }
            Message::Update(u) => {
                let rel = self.relation(u.relation_oid)?;
                let old = u.old.as_ref().map(|o| old_row(&rel, o)).transpose()?;
                let new = Some(row(&rel, &u.new)?);
                self.push(rel, Operation::Update, new, old)?;
            }
            Message::Delete(d) => {
                let rel = self.relation(d.relation_oid)?;
                let old = Some(old_row(&rel, &d.old)?);
                self.push(rel, Operation::Delete, None, old)?;
            }
            Message::Truncate(t) => {
                for oid in &t.relation_oids {
                    let rel = self.relation(*oid)?;
                    self.push(rel, Operation::Truncate, None, None)?;
                }
            }
            // Our own watermarks (see `source::backfill`); other prefixes are someone else's.
            Message::Message(m) if m.transactional && m.prefix == MARK_PREFIX => {
                self.marks
                    .push(String::from_utf8_lossy(m.content).into_owned());
            }
            Message::Message(m) if !m.transactional && m.prefix == MARK_PREFIX => {
                let text = std::str::from_utf8(m.content).unwrap_or_default();
                if let Some(at) = text.strip_prefix(HEARTBEAT).and_then(|t| t.parse().ok()) {
                    self.heartbeat = self.heartbeat.max(Some(at));
                }
            }
            // Origins and two-phase/streaming messages are not requested by the session this
            // assembler serves.
            Message::Origin(_) | Message::Message(_) => {}
            other => {
                return Err(AssembleError::Protocol(format!(
                    "unexpected message in a protocol v1 session: {}",
                    kind_name(&other)
                )))
            }
        }
        Ok(None)
    }

    /// Opens a streamed transaction whose commit has been received (pgoutput v2 Stream Commit),
    /// before its changes are replayed through [`Assembler::apply`].
    pub fn begin_streamed(&mut self, xid: u32, commit_lsn: u64, end_lsn: u64, pg_commit_time: i64) {
        self.open = Some(Transaction {
            xid,
            commit_lsn,
            end_lsn,
            commit_time: pg_epoch_micros_to_unix_micros(pg_commit_time),
            changes: Vec::new(),
        });
        self.next_seq = 0;
    }

    /// The changes assembled so far of the open streamed transaction, as one part of it.
    pub fn take_part(&mut self) -> Option<Transaction> {
        let txn = self.open.as_mut()?;
        let part = Transaction {
            changes: std::mem::take(&mut txn.changes),
            ..Transaction::header_of(txn)
        };
        Some(part)
    }

    /// The commit LSN of the open transaction, when it is known (a streamed transaction being
    /// replayed; an ordinary one learns it only at its Commit).
    pub fn streamed_commit_lsn(&self) -> Option<u64> {
        self.open
            .as_ref()
            .filter(|t| t.commit_lsn != 0)
            .map(|t| t.commit_lsn)
    }

    /// Closes the open streamed transaction; returns its last part.
    pub fn finish_streamed(&mut self) -> Option<Transaction> {
        self.open.take()
    }

    /// Changes assembled so far in the open transaction.
    pub fn open_changes(&self) -> usize {
        self.open.as_ref().map_or(0, |t| t.changes.len())
    }

    fn relation(&self, oid: u32) -> Result<Arc<RelationInfo>, AssembleError> {
        self.relations
            .get(&oid)
            .cloned()
            .ok_or(AssembleError::UnknownRelation(oid))
    }

    fn push(
        &mut self,
        relation: Arc<RelationInfo>,
        op: Operation,
        new: Option<Vec<Value>>,
        old: Option<OldRow>,
    ) -> Result<(), AssembleError> {
        let txn = self
            .open
            .as_mut()
            .ok_or_else(|| AssembleError::Protocol("change outside a transaction".into()))?;
        let seq = self.next_seq;
        self.next_seq = seq.checked_add(1).ok_or_else(|| {
            AssembleError::Protocol("more than 2^32 changes in one transaction".into())
        })?;
        txn.changes.push(RowChange {
            change: Change {
                op,
                relation: relation.relation.oid,
                new,
                old,
                xid: txn.xid,
                commit_lsn: txn.commit_lsn,
                end_lsn: txn.end_lsn,
                commit_time: txn.commit_time,
                seq,
            },
            relation,
        });
        Ok(())
    }
}

fn kind_name(msg: &Message<'_>) -> &'static str {
    match msg {
        Message::StreamStart(_) => "Stream Start",
        Message::StreamStop => "Stream Stop",
        Message::StreamCommit(_) => "Stream Commit",
        Message::StreamAbort(_) => "Stream Abort",
        Message::BeginPrepare(_) => "Begin Prepare",
        Message::Prepare(_) => "Prepare",
        Message::CommitPrepared(_) => "Commit Prepared",
        Message::RollbackPrepared(_) => "Rollback Prepared",
        Message::StreamPrepare(_) => "Stream Prepare",
        _ => "message",
    }
}

fn row(rel: &RelationInfo, tuple: &TupleData<'_>) -> Result<Vec<Value>, AssembleError> {
    if tuple.columns.len() != rel.kinds.len() {
        return Err(AssembleError::ColumnCount {
            table: rel.qualified_name(),
            got: tuple.columns.len(),
            want: rel.kinds.len(),
        });
    }
    Ok(tuple
        .columns
        .iter()
        .zip(&rel.kinds)
        .map(|(cell, kind)| match cell {
            Cell::Null => Value::Null,
            Cell::UnchangedToast => Value::UnchangedToast,
            Cell::Text(bytes) => parse_value(*kind, &String::from_utf8_lossy(bytes)),
            // Binary format is never requested; keep the bytes rather than guess.
            Cell::Binary(bytes) => Value::Bytes(bytes.to_vec()),
        })
        .collect())
}

fn old_row(rel: &RelationInfo, old: &OldTuple<'_>) -> Result<OldRow, AssembleError> {
    Ok(match old {
        OldTuple::Key(t) => OldRow {
            key_only: true,
            values: row(rel, t)?,
        },
        OldTuple::Full(t) => OldRow {
            key_only: false,
            values: row(rel, t)?,
        },
    })
}
