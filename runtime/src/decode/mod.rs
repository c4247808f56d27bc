//! Decoder for the bodies of PostgreSQL `pgoutput` logical replication messages (protocol
//! versions 1–4), i.e. the payload of an XLogData ('w') message or one row of
//! `pg_logical_slot_*_binary_changes`. The CopyData/XLogData framing is handled elsewhere.
//!
//! Decoding is a pure function of the bytes plus a little context ([`DecodeContext`]) that the
//! bytes alone cannot provide. It never panics: every malformed input, including truncations and
//! hostile length fields, yields a [`DecodeError`] naming the field and byte offset. Decoded
//! messages borrow strings and column values from the input; only column/oid lists allocate.
//!
//! Reference: PostgreSQL docs, "Logical Replication Message Formats", and
//! `src/backend/replication/logical/proto.c`.

mod error;
mod message;
mod parse;
mod reader;
mod tuple;

#[cfg(test)]
mod tests;

pub use error::{DecodeError, DecodeErrorReason};
pub use message::{
    Begin, BeginPrepare, Commit, CommitPrepared, Delete, Insert, LogicalMessage, Message, Origin,
    Prepare, Relation, RelationColumn, RollbackPrepared, StreamAbort, StreamCommit, StreamPrepare,
    StreamStart, Truncate, TypeMessage, Update,
};
pub use tuple::{Cell, OldTuple, TupleData};

use reader::Reader;

/// What the decoder needs to know that the bytes do not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeContext {
    /// True between a Stream Start and the matching Stream Stop. There, Relation, Type, Insert,
    /// Update, Delete, Truncate and Message carry a leading xid (protocol v2+) that is otherwise
    /// absent; nothing in those messages' bytes says which form they are in.
    pub in_stream: bool,
    /// The `proto_version` negotiated with the server (1–4). Messages that the server cannot
    /// send at this version are rejected, and v4 enables the Stream Abort LSN/timestamp form.
    pub protocol_version: u32,
}

/// PostgreSQL timestamps count from 2000-01-01; Unix time from 1970-01-01. This is the gap.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Converts a protocol timestamp (microseconds since 2000-01-01 UTC) to microseconds since
/// the Unix epoch. Saturates rather than overflowing (PostgreSQL's `infinity` is `i64::MAX`).
pub fn pg_epoch_micros_to_unix_micros(pg: i64) -> i64 {
    pg.saturating_add(PG_EPOCH_OFFSET_MICROS)
}

/// Human-readable name of a message tag and the protocol version that introduced it.
fn describe(tag: u8) -> Option<(&'static str, u32)> {
    Some(match tag {
        b'B' => ("Begin", 1),
        b'M' => ("Message", 1),
        b'C' => ("Commit", 1),
        b'O' => ("Origin", 1),
        b'R' => ("Relation", 1),
        b'Y' => ("Type", 1),
        b'I' => ("Insert", 1),
        b'U' => ("Update", 1),
        b'D' => ("Delete", 1),
        b'T' => ("Truncate", 1),
        b'S' => ("Stream Start", 2),
        b'E' => ("Stream Stop", 2),
        b'c' => ("Stream Commit", 2),
        b'A' => ("Stream Abort", 2),
        b'b' => ("Begin Prepare", 3),
        b'P' => ("Prepare", 3),
        b'K' => ("Commit Prepared", 3),
        b'r' => ("Rollback Prepared", 3),
        b'p' => ("Stream Prepare", 3),
        _ => return None,
    })
}

/// Decodes one complete pgoutput message body. The whole buffer must be exactly one message:
/// trailing bytes are an error (they usually mean `ctx` does not match the stream).
pub fn decode<'a>(buf: &'a [u8], ctx: &DecodeContext) -> Result<Message<'a>, DecodeError> {
    let Some((&tag, _)) = buf.split_first() else {
        return Err(
            Reader::new(buf, 0, "message").error(DecodeErrorReason::Truncated {
                field: "message tag",
                needed: 1,
                available: 0,
            }),
        );
    };
    let Some((kind, required)) = describe(tag) else {
        return Err(Reader::new(buf, 0, "message").error(DecodeErrorReason::UnknownTag(tag)));
    };
    let r = &mut Reader::new(buf, 1, kind);
    if ctx.protocol_version < required {
        return Err(r.error_at(
            0,
            DecodeErrorReason::UnsupportedVersion {
                required,
                negotiated: ctx.protocol_version,
            },
        ));
    }
    let message = match tag {
        b'B' => Message::Begin(parse::begin(r)?),
        b'M' => Message::Message(parse::logical_message(r, ctx)?),
        b'C' => Message::Commit(parse::commit(r)?),
        b'O' => Message::Origin(parse::origin(r)?),
        b'R' => Message::Relation(parse::relation(r, ctx)?),
        b'Y' => Message::Type(parse::type_message(r, ctx)?),
        b'I' => Message::Insert(parse::insert(r, ctx)?),
        b'U' => Message::Update(parse::update(r, ctx)?),
        b'D' => Message::Delete(parse::delete(r, ctx)?),
        b'T' => Message::Truncate(parse::truncate(r, ctx)?),
        b'S' => Message::StreamStart(parse::stream_start(r)?),
        b'E' => Message::StreamStop,
        b'c' => Message::StreamCommit(parse::stream_commit(r)?),
        b'A' => Message::StreamAbort(parse::stream_abort(r, ctx)?),
        b'b' => Message::BeginPrepare(parse::begin_prepare(r)?),
        b'P' => Message::Prepare(parse::prepare(r)?),
        b'K' => Message::CommitPrepared(parse::commit_prepared(r)?),
        b'r' => Message::RollbackPrepared(parse::rollback_prepared(r)?),
        b'p' => Message::StreamPrepare(parse::prepare(r)?),
        _ => return Err(r.error_at(0, DecodeErrorReason::UnknownTag(tag))),
    };
    r.finish()?;
    Ok(message)
}

/// The subtransaction id of a change message inside a Stream Start … Stop block (protocol v2+),
/// read without decoding the rest: Insert, Update, Delete and Truncate carry it right after the
/// tag there. `None` for other messages or too short a buffer (the decoder reports those).
pub fn stream_change_xid(data: &[u8]) -> Option<u32> {
    match data {
        [b'I' | b'U' | b'D' | b'T', a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Whether a message body is a Stream Stop, read from its tag alone: inside a streamed block
/// every other message is held undecoded until the transaction commits.
pub fn is_stream_stop(data: &[u8]) -> bool {
    data.first() == Some(&b'E')
}
