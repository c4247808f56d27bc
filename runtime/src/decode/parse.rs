//! One parser per message body. Each starts just after the tag byte and leaves the cursor at the
//! end of what it understood; [`super::decode`] then rejects trailing bytes.

use super::error::{DecodeError, DecodeErrorReason};
use super::message::*;
use super::reader::Reader;
use super::tuple::{read_new_tuple, read_old_tuple, read_tuple};
use super::DecodeContext;

/// The leading xid of row/schema messages, present only inside a streamed block.
fn stream_xid(r: &mut Reader<'_>, ctx: &DecodeContext) -> Result<Option<u32>, DecodeError> {
    if !ctx.in_stream {
        return Ok(None);
    }
    if ctx.protocol_version < 2 {
        return Err(r.error(DecodeErrorReason::UnsupportedVersion {
            required: 2,
            negotiated: ctx.protocol_version,
        }));
    }
    r.u32("xid").map(Some)
}

pub(crate) fn begin(r: &mut Reader<'_>) -> Result<Begin, DecodeError> {
    Ok(Begin {
        final_lsn: r.u64("final LSN")?,
        commit_time: r.i64("commit timestamp")?,
        xid: r.u32("xid")?,
    })
}

pub(crate) fn commit(r: &mut Reader<'_>) -> Result<Commit, DecodeError> {
    Ok(Commit {
        flags: r.u8("flags")?,
        commit_lsn: r.u64("commit LSN")?,
        end_lsn: r.u64("end LSN")?,
        commit_time: r.i64("commit timestamp")?,
    })
}

pub(crate) fn origin<'a>(r: &mut Reader<'a>) -> Result<Origin<'a>, DecodeError> {
    Ok(Origin {
        commit_lsn: r.u64("origin commit LSN")?,
        name: r.cstr("origin name")?,
    })
}

pub(crate) fn relation<'a>(
    r: &mut Reader<'a>,
    ctx: &DecodeContext,
) -> Result<Relation<'a>, DecodeError> {
    let xid = stream_xid(r, ctx)?;
    let oid = r.u32("relation oid")?;
    let namespace = r.cstr("namespace")?;
    let name = r.cstr("relation name")?;
    let replica_identity = r.u8("replica identity")?;
    let ncols = usize::from(r.u16("column count")?);
    // A column takes at least 1 + 1 + 4 + 4 bytes; bound the reservation by the input.
    let mut columns = Vec::with_capacity(ncols.min(r.remaining() / 10));
    for _ in 0..ncols {
        columns.push(RelationColumn {
            flags: r.u8("column flags")?,
            name: r.cstr("column name")?,
            type_oid: r.u32("column type oid")?,
            type_modifier: r.i32("column type modifier")?,
        });
    }
    Ok(Relation {
        xid,
        oid,
        namespace,
        name,
        replica_identity,
        columns,
    })
}

pub(crate) fn type_message<'a>(
    r: &mut Reader<'a>,
    ctx: &DecodeContext,
) -> Result<TypeMessage<'a>, DecodeError> {
    Ok(TypeMessage {
        xid: stream_xid(r, ctx)?,
        oid: r.u32("type oid")?,
        namespace: r.cstr("namespace")?,
        name: r.cstr("type name")?,
    })
}

pub(crate) fn insert<'a>(
    r: &mut Reader<'a>,
    ctx: &DecodeContext,
) -> Result<Insert<'a>, DecodeError> {
    Ok(Insert {
        xid: stream_xid(r, ctx)?,
        relation_oid: r.u32("relation oid")?,
        new: read_new_tuple(r)?,
    })
}

pub(crate) fn update<'a>(
    r: &mut Reader<'a>,
    ctx: &DecodeContext,
) -> Result<Update<'a>, DecodeError> {
    let xid = stream_xid(r, ctx)?;
    let relation_oid = r.u32("relation oid")?;
    let at = r.pos();
    let (old, new) = match r.u8("tuple marker")? {
        b'N' => (None, read_tuple(r)?),
        marker @ (b'K' | b'O') => (Some(read_old_tuple(r, marker, at)?), read_new_tuple(r)?),
        found => {
            return Err(r.error_at(
                at,
                DecodeErrorReason::UnexpectedByte {
                    field: "tuple marker",
                    found,
                    expected: "'K', 'O' or 'N'",
                },
            ))
        }
    };
    Ok(Update {
        xid,
        relation_oid,
        old,
        new,
    })
}

pub(crate) fn delete<'a>(
    r: &mut Reader<'a>,
    ctx: &DecodeContext,
) -> Result<Delete<'a>, DecodeError> {
    let xid = stream_xid(r, ctx)?;
    let relation_oid = r.u32("relation oid")?;
    let at = r.pos();
    let marker = r.u8("old tuple marker")?;
    Ok(Delete {
        xid,
        relation_oid,
        old: read_old_tuple(r, marker, at)?,
    })
}

pub(crate) fn truncate(r: &mut Reader<'_>, ctx: &DecodeContext) -> Result<Truncate, DecodeError> {
    let xid = stream_xid(r, ctx)?;
    let count = r.len32("relation count")?;
    let options = r.u8("options")?;
    let mut relation_oids = Vec::with_capacity(count.min(r.remaining() / 4));
    for _ in 0..count {
        relation_oids.push(r.u32("relation oid")?);
    }
    Ok(Truncate {
        xid,
        options,
        relation_oids,
    })
}

pub(crate) fn logical_message<'a>(
    r: &mut Reader<'a>,
    ctx: &DecodeContext,
) -> Result<LogicalMessage<'a>, DecodeError> {
    let xid = stream_xid(r, ctx)?;
    let transactional = r.bool("flags")?;
    let lsn = r.u64("message LSN")?;
    let prefix = r.cstr("prefix")?;
    let len = r.len32("content length")?;
    Ok(LogicalMessage {
        xid,
        transactional,
        lsn,
        prefix,
        content: r.bytes(len, "content")?,
    })
}

pub(crate) fn stream_start(r: &mut Reader<'_>) -> Result<StreamStart, DecodeError> {
    Ok(StreamStart {
        xid: r.u32("xid")?,
        first_segment: r.bool("first segment flag")?,
    })
}

pub(crate) fn stream_commit(r: &mut Reader<'_>) -> Result<StreamCommit, DecodeError> {
    Ok(StreamCommit {
        xid: r.u32("xid")?,
        flags: r.u8("flags")?,
        commit_lsn: r.u64("commit LSN")?,
        end_lsn: r.u64("end LSN")?,
        commit_time: r.i64("commit timestamp")?,
    })
}

/// The v4 abort LSN/timestamp pair is only sent when the subscription negotiated
/// `streaming = parallel`, which is not visible in the bytes. Because the message has no
/// variable-length part, its length tells the two forms apart unambiguously: with protocol v4+
/// exactly 16 more bytes after the subxid means they are present. (This avoids adding a flag
/// to [`DecodeContext`].)
pub(crate) fn stream_abort(
    r: &mut Reader<'_>,
    ctx: &DecodeContext,
) -> Result<StreamAbort, DecodeError> {
    let xid = r.u32("xid")?;
    let subxid = r.u32("subtransaction xid")?;
    let (abort_lsn, abort_time) = if ctx.protocol_version >= 4 && r.remaining() > 0 {
        (Some(r.u64("abort LSN")?), Some(r.i64("abort timestamp")?))
    } else {
        (None, None)
    };
    Ok(StreamAbort {
        xid,
        subxid,
        abort_lsn,
        abort_time,
    })
}

pub(crate) fn begin_prepare<'a>(r: &mut Reader<'a>) -> Result<BeginPrepare<'a>, DecodeError> {
    Ok(BeginPrepare {
        prepare_lsn: r.u64("prepare LSN")?,
        end_lsn: r.u64("end LSN")?,
        prepare_time: r.i64("prepare timestamp")?,
        xid: r.u32("xid")?,
        gid: r.cstr("gid")?,
    })
}

/// Prepare ('P') and Stream Prepare ('p'): the same body.
pub(crate) fn prepare<'a>(r: &mut Reader<'a>) -> Result<Prepare<'a>, DecodeError> {
    Ok(Prepare {
        flags: r.u8("flags")?,
        prepare_lsn: r.u64("prepare LSN")?,
        end_lsn: r.u64("end LSN")?,
        prepare_time: r.i64("prepare timestamp")?,
        xid: r.u32("xid")?,
        gid: r.cstr("gid")?,
    })
}

pub(crate) fn commit_prepared<'a>(r: &mut Reader<'a>) -> Result<CommitPrepared<'a>, DecodeError> {
    Ok(CommitPrepared {
        flags: r.u8("flags")?,
        commit_lsn: r.u64("commit LSN")?,
        end_lsn: r.u64("end LSN")?,
        commit_time: r.i64("commit timestamp")?,
        xid: r.u32("xid")?,
        gid: r.cstr("gid")?,
    })
}

pub(crate) fn rollback_prepared<'a>(
    r: &mut Reader<'a>,
) -> Result<RollbackPrepared<'a>, DecodeError> {
    Ok(RollbackPrepared {
        flags: r.u8("flags")?,
        prepare_end_lsn: r.u64("prepare end LSN")?,
        rollback_end_lsn: r.u64("rollback end LSN")?,
        prepare_time: r.i64("prepare timestamp")?,
        rollback_time: r.i64("rollback timestamp")?,
        xid: r.u32("xid")?,
        gid: r.cstr("gid")?,
    })
}
