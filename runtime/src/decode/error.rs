//! The single error type returned by the decoder.

/// A pgoutput message body could not be decoded.
///
/// Carries the message kind being decoded, the byte offset (from the start of the body, where the
/// tag byte is offset 0) at which decoding failed, and a machine-inspectable [`DecodeErrorReason`].
/// It is cheap to build (no allocation) because malformed input is an expected, fuzzable case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed pgoutput {kind} at byte {offset}: {reason}")]
pub struct DecodeError {
    kind: &'static str,
    offset: usize,
    reason: DecodeErrorReason,
}

impl DecodeError {
    pub(crate) fn new(kind: &'static str, offset: usize, reason: DecodeErrorReason) -> Self {
        Self {
            kind,
            offset,
            reason,
        }
    }

    /// Human-readable message kind ("Begin", "Stream Abort", ...), or "message" if the tag
    /// itself could not be read or was unknown.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Byte offset into the body where the offending field starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong.
    pub fn reason(&self) -> DecodeErrorReason {
        self.reason
    }
}

/// What exactly was wrong with the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorReason {
    /// The body ended before a field was complete.
    #[error("{field} needs {needed} bytes but only {available} remain")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    /// A NUL-terminated string ran off the end of the body.
    #[error("{field} has no NUL terminator")]
    Unterminated { field: &'static str },
    /// A string field is not UTF-8.
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 { field: &'static str },
    /// A signed length or count field is negative.
    #[error("{field} is negative ({value})")]
    NegativeLength { field: &'static str, value: i32 },
    /// The first byte is not a known pgoutput message tag.
    #[error("unknown message tag 0x{0:02x}")]
    UnknownTag(u8),
    /// A marker, kind or flag byte has a value the protocol does not allow here.
    #[error("{field} is 0x{found:02x}, expected {expected}")]
    UnexpectedByte {
        field: &'static str,
        found: u8,
        expected: &'static str,
    },
    /// The message was complete but bytes remain; usually the caller's [`super::DecodeContext`]
    /// does not match the stream (e.g. `in_stream` wrong, so a leading xid was not expected).
    #[error("{count} trailing bytes after a complete message (wrong in_stream/protocol_version?)")]
    TrailingBytes { count: usize },
    /// The message (or form of it) does not exist in the negotiated protocol version.
    #[error("requires protocol version {required}, but the context says {negotiated}")]
    UnsupportedVersion { required: u32, negotiated: u32 },
}
