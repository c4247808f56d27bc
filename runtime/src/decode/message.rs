//! Decoded pgoutput messages.
//!
//! Conventions shared by every type here:
//! * LSNs are raw `u64` (`XLogRecPtr`).
//! * Timestamps are kept exactly as sent: `i64` microseconds since the PostgreSQL epoch
//!   (2000-01-01 00:00:00 UTC). Converting here would lose nothing but would force a choice of
//!   time library and risk overflow on hostile input; callers that want Unix time use
//!   [`super::pg_epoch_micros_to_unix_micros`].
//! * `xid: Option<u32>` on row/schema messages is the top-level transaction id that pgoutput
//!   (protocol v2+) prepends only *inside a streamed block* (between Stream Start and Stream
//!   Stop), because there the changes of several in-progress transactions are interleaved. Outside
//!   a stream the xid is known from the enclosing Begin and is not sent, so it is `None`.
//! * Strings and byte payloads borrow from the input buffer.

use super::tuple::{OldTuple, TupleData};

/// One decoded pgoutput message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    Begin(Begin),
    Commit(Commit),
    Origin(Origin<'a>),
    Relation(Relation<'a>),
    Type(TypeMessage<'a>),
    Insert(Insert<'a>),
    Update(Update<'a>),
    Delete(Delete<'a>),
    Truncate(Truncate),
    /// A logical decoding message (`pg_logical_emit_message`); only sent with `messages 'true'`.
    Message(LogicalMessage<'a>),
    StreamStart(StreamStart),
    StreamStop,
    StreamCommit(StreamCommit),
    StreamAbort(StreamAbort),
    BeginPrepare(BeginPrepare<'a>),
    Prepare(Prepare<'a>),
    CommitPrepared(CommitPrepared<'a>),
    RollbackPrepared(RollbackPrepared<'a>),
    StreamPrepare(StreamPrepare<'a>),
}

/// Start of a (non-streamed) transaction. 'B'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// LSN of the commit record; the transaction ends here.
    pub final_lsn: u64,
    /// PostgreSQL-epoch microseconds.
    pub commit_time: i64,
    pub xid: u32,
}

/// End of a (non-streamed) transaction. 'C'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// Currently always 0.
    pub flags: u8,
    pub commit_lsn: u64,
    /// LSN just past the commit record: the position to confirm as flushed.
    pub end_lsn: u64,
    /// PostgreSQL-epoch microseconds.
    pub commit_time: i64,
}

/// The transaction was replayed from another node via a replication origin. 'O'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// Commit LSN on the origin server.
    pub commit_lsn: u64,
    pub name: &'a str,
}

/// Describes a table; always sent before the first row message for it (and again after changes).
/// 'R'
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation<'a> {
    /// Present only inside a streamed block; see the module docs.
    pub xid: Option<u32>,
    pub oid: u32,
    /// Empty string means `pg_catalog`.
    pub namespace: &'a str,
    pub name: &'a str,
    /// `pg_class.relreplident`: b'd' default, b'n' nothing, b'f' full, b'i' index.
    pub replica_identity: u8,
    pub columns: Vec<RelationColumn<'a>>,
}

/// One column of a [`Relation`], in attribute order (dropped/generated columns omitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationColumn<'a> {
    /// Bit 1 = part of the replica identity key.
    pub flags: u8,
    pub name: &'a str,
    pub type_oid: u32,
    /// `atttypmod`; -1 when the type has no modifier.
    pub type_modifier: i32,
}

impl RelationColumn<'_> {
    /// Whether the column is part of the replica identity (what 'K' old tuples carry).
    pub fn is_key(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// Names a non-built-in data type used by a following Relation, so its oid can be resolved. 'Y'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeMessage<'a> {
    /// Present only inside a streamed block; see the module docs.
    pub xid: Option<u32>,
    pub oid: u32,
    /// Empty string means `pg_catalog`.
    pub namespace: &'a str,
    pub name: &'a str,
}

/// 'I'
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert<'a> {
    /// Present only inside a streamed block; see the module docs.
    pub xid: Option<u32>,
    pub relation_oid: u32,
    pub new: TupleData<'a>,
}

/// 'U'
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update<'a> {
    /// Present only inside a streamed block; see the module docs.
    pub xid: Option<u32>,
    pub relation_oid: u32,
    /// Sent only with REPLICA IDENTITY FULL (`Full`) or when the key changed (`Key`).
    pub old: Option<OldTuple<'a>>,
    pub new: TupleData<'a>,
}

/// 'D'
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete<'a> {
    /// Present only inside a streamed block; see the module docs.
    pub xid: Option<u32>,
    pub relation_oid: u32,
    pub old: OldTuple<'a>,
}

/// 'T'
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncate {
    /// Present only inside a streamed block; see the module docs.
    pub xid: Option<u32>,
    /// Bit 1 = CASCADE, bit 2 = RESTART IDENTITY.
    pub options: u8,
    pub relation_oids: Vec<u32>,
}

impl Truncate {
    pub fn cascade(&self) -> bool {
        self.options & 1 != 0
    }

    pub fn restart_identity(&self) -> bool {
        self.options & 2 != 0
    }
}

/// 'M'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogicalMessage<'a> {
    /// Present only inside a streamed block; see the module docs.
    pub xid: Option<u32>,
    /// Transactional messages arrive inside Begin/Commit; non-transactional ones stand alone.
    pub transactional: bool,
    pub lsn: u64,
    pub prefix: &'a str,
    /// Arbitrary bytes; not necessarily UTF-8.
    pub content: &'a [u8],
}

/// Opens a block of changes of an in-progress transaction (protocol v2+). 'S'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStart {
    pub xid: u32,
    /// True for the first block of this transaction.
    pub first_segment: bool,
}

/// A streamed transaction committed. 'c'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCommit {
    pub xid: u32,
    /// Currently always 0.
    pub flags: u8,
    pub commit_lsn: u64,
    pub end_lsn: u64,
    /// PostgreSQL-epoch microseconds.
    pub commit_time: i64,
}

/// A streamed (sub)transaction aborted; discard its changes. 'A'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAbort {
    /// Top-level xid.
    pub xid: u32,
    /// Equal to `xid` when the whole transaction aborted, else the aborted subtransaction.
    pub subxid: u32,
    /// Only sent with protocol v4 and `streaming = parallel`.
    pub abort_lsn: Option<u64>,
    /// PostgreSQL-epoch microseconds; present together with `abort_lsn`.
    pub abort_time: Option<i64>,
}

/// Start of a prepared (two-phase) transaction (protocol v3+). 'b'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeginPrepare<'a> {
    pub prepare_lsn: u64,
    pub end_lsn: u64,
    /// PostgreSQL-epoch microseconds.
    pub prepare_time: i64,
    pub xid: u32,
    /// The user-supplied global transaction identifier.
    pub gid: &'a str,
}

/// End of a prepared transaction's changes (PREPARE TRANSACTION). 'P'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepare<'a> {
    /// Currently always 0.
    pub flags: u8,
    pub prepare_lsn: u64,
    pub end_lsn: u64,
    /// PostgreSQL-epoch microseconds.
    pub prepare_time: i64,
    pub xid: u32,
    pub gid: &'a str,
}

/// COMMIT PREPARED. 'K'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitPrepared<'a> {
    /// Currently always 0.
    pub flags: u8,
    pub commit_lsn: u64,
    pub end_lsn: u64,
    /// PostgreSQL-epoch microseconds.
    pub commit_time: i64,
    pub xid: u32,
    pub gid: &'a str,
}

/// ROLLBACK PREPARED. 'r'
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackPrepared<'a> {
    /// Currently always 0.
    pub flags: u8,
    /// End LSN of the PREPARE being rolled back (lets a subscriber check it applied it).
    pub prepare_end_lsn: u64,
    pub rollback_end_lsn: u64,
    /// PostgreSQL-epoch microseconds.
    pub prepare_time: i64,
    /// PostgreSQL-epoch microseconds.
    pub rollback_time: i64,
    pub xid: u32,
    pub gid: &'a str,
}

/// PREPARE of a streamed transaction (protocol v3+, streaming + two_phase). 'p'
///
/// Its body is laid out exactly as [`Prepare`]'s, so it is read into one.
pub type StreamPrepare<'a> = Prepare<'a>;
