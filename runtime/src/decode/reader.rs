//! A bounds-checked big-endian cursor over a message body.
//!
//! Every read either returns a value borrowed from / copied out of the input or a [`DecodeError`]
//! pointing at the offending byte; nothing here indexes, unwraps or does unchecked arithmetic.

use super::error::{DecodeError, DecodeErrorReason};

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    kind: &'static str,
}

impl<'a> Reader<'a> {
    /// A cursor over `buf` starting at `pos`, reporting errors for message kind `kind`.
    pub(crate) fn new(buf: &'a [u8], pos: usize, kind: &'static str) -> Self {
        Self { buf, pos, kind }
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest().len()
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// An error at byte offset `at` for the message being decoded.
    pub(crate) fn error_at(&self, at: usize, reason: DecodeErrorReason) -> DecodeError {
        DecodeError::new(self.kind, at, reason)
    }

    pub(crate) fn error(&self, reason: DecodeErrorReason) -> DecodeError {
        self.error_at(self.pos, reason)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        match self.rest().split_first_chunk::<N>() {
            Some((head, _)) => {
                self.pos = self.pos.saturating_add(N);
                Ok(*head)
            }
            None => Err(self.truncated(field, N)),
        }
    }

    fn truncated(&self, field: &'static str, needed: usize) -> DecodeError {
        self.error(DecodeErrorReason::Truncated {
            field,
            needed,
            available: self.remaining(),
        })
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.array::<1>(field).map(|[b]| b)
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.array(field).map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_be_bytes)
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array(field).map(i32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.array(field).map(u64::from_be_bytes)
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.array(field).map(i64::from_be_bytes)
    }

    /// A one-byte flag that must be 0 (false) or 1 (true).
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            found => Err(self.error_at(
                at,
                DecodeErrorReason::UnexpectedByte {
                    field,
                    found,
                    expected: "0 or 1",
                },
            )),
        }
    }

    /// A non-negative Int32 length or count, as `usize`.
    pub(crate) fn len32(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let value = self.i32(field)?;
        usize::try_from(value)
            .map_err(|_| self.error_at(at, DecodeErrorReason::NegativeLength { field, value }))
    }

    /// Exactly `n` bytes, borrowed from the input.
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.rest().split_at_checked(n) {
            Some((head, _)) => {
                self.pos = self.pos.saturating_add(n);
                Ok(head)
            }
            None => Err(self.truncated(field, n)),
        }
    }

    /// A PostgreSQL `String`: UTF-8 bytes terminated by NUL (the NUL is consumed, not returned).
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let rest = self.rest();
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(self.error(DecodeErrorReason::Unterminated { field }));
        };
        let raw = rest.get(..nul).unwrap_or_default();
        let s = std::str::from_utf8(raw)
            .map_err(|_| self.error(DecodeErrorReason::InvalidUtf8 { field }))?;
        self.pos = self.pos.saturating_add(nul).saturating_add(1);
        Ok(s)
    }

    /// Succeeds only if the whole body has been consumed.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.error(DecodeErrorReason::TrailingBytes { count })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_offsets() {
        let buf = [0x00, 0x01, 0x02, 0x03, 0x04, b'h', b'i', 0, 0xff];
        let mut r = Reader::new(&buf, 1, "Test");
        assert_eq!(r.u32("a").unwrap(), 0x0102_0304);
        assert_eq!(r.cstr("s").unwrap(), "hi");
        assert_eq!(r.pos(), 8);
        let err = r.u16("b").unwrap_err();
        assert_eq!(err.offset(), 8);
        assert_eq!(
            err.reason(),
            DecodeErrorReason::Truncated {
                field: "b",
                needed: 2,
                available: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "malformed pgoutput Test at byte 8: b needs 2 bytes but only 1 remain"
        );
        // A failed read does not move the cursor.
        assert_eq!(r.u8("c").unwrap(), 0xff);
        assert!(r.finish().is_ok());
    }

    #[test]
    fn negative_length_and_unterminated_string() {
        let buf = [0xff, 0xff, 0xff, 0xfe, b'x'];
        let mut r = Reader::new(&buf, 0, "Test");
        let err = r.len32("len").unwrap_err();
        assert_eq!(
            err.reason(),
            DecodeErrorReason::NegativeLength {
                field: "len",
                value: -2
            }
        );
        assert_eq!(err.offset(), 0);
        let err = r.cstr("name").unwrap_err();
        assert_eq!(
            err.reason(),
            DecodeErrorReason::Unterminated { field: "name" }
        );
        assert_eq!(err.offset(), 4);
    }

    #[test]
    fn position_past_end_is_harmless() {
        let r = Reader::new(&[1, 2], 10, "Test");
        assert_eq!(r.remaining(), 0);
        assert!(r.finish().is_ok());
    }
}
