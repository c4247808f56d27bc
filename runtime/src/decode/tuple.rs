//! TupleData: the row images carried by Insert, Update and Delete.

use super::error::{DecodeError, DecodeErrorReason};
use super::reader::Reader;

/// One row image, columns in the order of the preceding [`super::Relation`]'s columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TupleData<'a> {
    pub columns: Vec<Cell<'a>>,
}

/// One column value. Bytes are passed through untouched: `Text` is the type's text output
/// (in the client encoding, so usually but not necessarily UTF-8); `Binary` is its binary send
/// format (only with the `binary` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    Null,
    /// A TOASTed value the change did not touch; the server does not resend it, so the
    /// consumer must keep the previous value. Only appears in Update new tuples.
    UnchangedToast,
    Text(&'a [u8]),
    Binary(&'a [u8]),
}

/// The old row image of an Update or Delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple<'a> {
    /// 'K': only the replica identity key columns are set; the others are [`Cell::Null`].
    Key(TupleData<'a>),
    /// 'O': the whole old row (REPLICA IDENTITY FULL).
    Full(TupleData<'a>),
}

impl<'a> OldTuple<'a> {
    /// The tuple, whichever kind it is.
    pub fn data(&self) -> &TupleData<'a> {
        match self {
            OldTuple::Key(t) | OldTuple::Full(t) => t,
        }
    }
}

/// Reads `Int16 ncols` followed by that many cells.
pub(crate) fn read_tuple<'a>(r: &mut Reader<'a>) -> Result<TupleData<'a>, DecodeError> {
    let ncols = usize::from(r.u16("tuple column count")?);
    // Every cell takes at least one byte: never reserve more than the input could hold.
    let mut columns = Vec::with_capacity(ncols.min(r.remaining()));
    for _ in 0..ncols {
        let at = r.pos();
        let cell = match r.u8("tuple column kind")? {
            b'n' => Cell::Null,
            b'u' => Cell::UnchangedToast,
            b't' => {
                let len = r.len32("text column length")?;
                Cell::Text(r.bytes(len, "text column value")?)
            }
            b'b' => {
                let len = r.len32("binary column length")?;
                Cell::Binary(r.bytes(len, "binary column value")?)
            }
            found => {
                return Err(r.error_at(
                    at,
                    DecodeErrorReason::UnexpectedByte {
                        field: "tuple column kind",
                        found,
                        expected: "'n', 'u', 't' or 'b'",
                    },
                ))
            }
        };
        columns.push(cell);
    }
    Ok(TupleData { columns })
}

/// Reads an old tuple introduced by its 'K'/'O' marker byte (already consumed as `marker`).
pub(crate) fn read_old_tuple<'a>(
    r: &mut Reader<'a>,
    marker: u8,
    marker_at: usize,
) -> Result<OldTuple<'a>, DecodeError> {
    match marker {
        b'K' => read_tuple(r).map(OldTuple::Key),
        b'O' => read_tuple(r).map(OldTuple::Full),
        found => Err(r.error_at(
            marker_at,
            DecodeErrorReason::UnexpectedByte {
                field: "old tuple marker",
                found,
                expected: "'K' or 'O'",
            },
        )),
    }
}

/// Reads the 'N' marker and the new tuple.
pub(crate) fn read_new_tuple<'a>(r: &mut Reader<'a>) -> Result<TupleData<'a>, DecodeError> {
    let at = r.pos();
    match r.u8("new tuple marker")? {
        b'N' => read_tuple(r),
        found => Err(r.error_at(
            at,
            DecodeErrorReason::UnexpectedByte {
                field: "new tuple marker",
                found,
                expected: "'N'",
            },
        )),
    }
}
