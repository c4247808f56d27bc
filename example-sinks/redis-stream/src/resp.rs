//! The part of RESP2 (the Redis serialization protocol) this sink needs: commands out, replies in.
//!
//! A command is an array of bulk strings (`*2\r\n$4\r\nPING\r\n...`). A reply is a simple string
//! (`+OK`), an error (`-ERR ...`), an integer (`:1`), a bulk string (`$3\r\nabc`, `$-1` for nil) or
//! an array of replies (`*2\r\n...`, `*-1` for nil). Reading is strict: a malformed reply is an
//! `InvalidData` error (the connection is then out of step and must be dropped), a reply cut short
//! is `UnexpectedEof`.

use std::io::{self, BufRead, Read};

/// Longest bulk string accepted, as in Redis (`proto-max-bulk-len`).
pub const MAX_BULK: usize = 512 << 20;
/// Deepest nesting of arrays accepted.
pub const MAX_DEPTH: usize = 16;
/// Longest line (type byte to CRLF) of a simple string, error or length.
pub const MAX_LINE: usize = 64 * 1024;

/// Appends `args` as one command (an array of bulk strings) to `out`.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    push_header(out, b'*', args.len());
    for arg in args {
        let arg = arg.as_ref();
        push_header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    /// An error reply's text, e.g. `WRONGTYPE Operation against a key holding the wrong kind of
    /// value`.
    Error(String),
    Integer(i64),
    /// `None` for the nil bulk string.
    Bulk(Option<Vec<u8>>),
    /// `None` for the nil array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The text of an error reply.
    pub fn error(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The text of a simple or bulk string reply.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Reads one complete reply.
pub fn read_reply<R: BufRead>(r: &mut R) -> io::Result<Reply> {
    read_nested(r, 0)
}

fn read_nested<R: BufRead>(r: &mut R, depth: usize) -> io::Result<Reply> {
    let line = read_line(r)?;
    let (kind, rest) = line
        .split_first()
        .ok_or_else(|| invalid("empty reply line"))?;
    let text = || String::from_utf8_lossy(rest).into_owned();
    match kind {
        b'+' => Ok(Reply::Simple(text())),
        b'-' => Ok(Reply::Error(text())),
        b':' => Ok(Reply::Integer(parse_int(rest)?)),
        b'$' => {
            let Some(len) = parse_len(rest, MAX_BULK)? else {
                return Ok(Reply::Bulk(None));
            };
            let mut data = Vec::with_capacity(len.min(64 * 1024));
            r.by_ref().take(len as u64 + 2).read_to_end(&mut data)?;
            if data.len() < len + 2 {
                return Err(eof());
            }
            if !data.ends_with(b"\r\n") {
                return Err(invalid("bulk string not followed by CRLF"));
            }
            data.truncate(len);
            Ok(Reply::Bulk(Some(data)))
        }
        b'*' => {
            let Some(len) = parse_len(rest, usize::MAX)? else {
                return Ok(Reply::Array(None));
            };
            if depth >= MAX_DEPTH {
                return Err(invalid("arrays nested too deeply"));
            }
            let mut items = Vec::with_capacity(len.min(1024));
            for _ in 0..len {
                items.push(read_nested(r, depth + 1)?);
            }
            Ok(Reply::Array(Some(items)))
        }
        other => Err(invalid(&format!(
            "unknown reply type byte {:?}",
            char::from(*other)
        ))),
    }
}

/// One CRLF-terminated line, without the CRLF.
fn read_line<R: BufRead>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_LINE as u64 + 2)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(eof());
    }
    if !line.ends_with(b"\n") {
        return Err(if n > MAX_LINE {
            invalid("reply line too long")
        } else {
            eof()
        });
    }
    if !line.ends_with(b"\r\n") {
        return Err(invalid("reply line not terminated by CRLF"));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_int(digits: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("malformed integer"))
}

/// A length; `None` for -1 (nil).
fn parse_len(digits: &[u8], max: usize) -> io::Result<Option<usize>> {
    match parse_int(digits)? {
        -1 => Ok(None),
        n if n >= 0 && (n as u64) <= max as u64 => Ok(Some(n as usize)),
        _ => Err(invalid("invalid length")),
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed reply from redis: {what}"),
    )
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "redis closed the connection in the middle of a reply",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> io::Result<Reply> {
        read_reply(&mut io::Cursor::new(bytes))
    }

    #[test]
    fn encodes_commands_as_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        encode_command(&mut out, &["PING"]);
        assert_eq!(out, b"*1\r\n$4\r\nPING\r\n");
        out.clear();
        let args: [&[u8]; 4] = [b"XADD", b"s", b"*", b"a\r\nb"];
        encode_command(&mut out, &args);
        assert_eq!(
            out,
            b"*4\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$4\r\na\r\nb\r\n"
        );
        out.clear();
        encode_command(&mut out, &["SET", "", "\u{e9}"]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$2\r\n\xc3\xa9\r\n");
    }

    #[test]
    fn parses_every_reply_type() {
        assert_eq!(parse(b"+OK\r\n").unwrap(), Reply::Simple("OK".into()));
        let err = parse(b"-WRONGTYPE Operation against a key\r\n").unwrap();
        assert_eq!(err.error(), Some("WRONGTYPE Operation against a key"));
        assert_eq!(parse(b":-42\r\n").unwrap(), Reply::Integer(-42));
        assert_eq!(
            parse(b"$15\r\n1700000000000-0\r\n").unwrap().as_text(),
            Some("1700000000000-0".into())
        );
        assert_eq!(
            parse(b"$4\r\na\r\nb\r\n").unwrap(),
            Reply::Bulk(Some(b"a\r\nb".to_vec()))
        );
        assert_eq!(parse(b"$0\r\n\r\n").unwrap(), Reply::Bulk(Some(vec![])));
        assert_eq!(parse(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        assert_eq!(parse(b"*-1\r\n").unwrap(), Reply::Array(None));
        assert_eq!(parse(b"*0\r\n").unwrap(), Reply::Array(Some(vec![])));
        // XRANGE's shape: [[id, [field, value, ...]], ...]
        let xrange = b"*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$2\r\nop\r\n$6\r\ninsert\r\n";
        assert_eq!(
            parse(xrange).unwrap(),
            Reply::Array(Some(vec![Reply::Array(Some(vec![
                Reply::Bulk(Some(b"1-0".to_vec())),
                Reply::Array(Some(vec![
                    Reply::Bulk(Some(b"op".to_vec())),
                    Reply::Bulk(Some(b"insert".to_vec())),
                ])),
            ]))]))
        );
    }

    #[test]
    fn reads_pipelined_replies_in_order() {
        let mut r = io::Cursor::new(&b"$3\r\n1-0\r\n-ERR no\r\n$3\r\n1-1\r\n"[..]);
        assert_eq!(read_reply(&mut r).unwrap().as_text().unwrap(), "1-0");
        assert_eq!(read_reply(&mut r).unwrap().error(), Some("ERR no"));
        assert_eq!(read_reply(&mut r).unwrap().as_text().unwrap(), "1-1");
        assert_eq!(
            read_reply(&mut r).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn incomplete_replies_are_eof() {
        for cut in [
            &b""[..],
            b"+OK",
            b"+OK\r",
            b"$5\r\nab",
            b"$5\r\nabcde",
            b"*2\r\n:1\r\n",
            b"*1\r\n",
        ] {
            let e = parse(cut).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{cut:?}: {e}");
        }
    }

    #[test]
    fn malformed_replies_are_invalid_data() {
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1) + ":1\r\n";
        let long = format!("+{}\r\n", "x".repeat(MAX_LINE + 10));
        for bad in [
            &b"\r\n"[..],
            b"?what\r\n",
            b"+OK\n",
            b":12x\r\n",
            b":\r\n",
            b"$-2\r\n",
            b"$abc\r\n",
            b"$3\r\nabcXY",
            b"*-5\r\n",
            b"$9999999999999\r\n",
            deep.as_bytes(),
            long.as_bytes(),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(
                e.kind(),
                io::ErrorKind::InvalidData,
                "{:?}: {e}",
                String::from_utf8_lossy(&bad[..bad.len().min(40)])
            );
        }
    }

    #[test]
    fn nesting_up_to_the_limit_is_fine() {
        let nested = "*1\r\n".repeat(MAX_DEPTH) + ":7\r\n";
        let mut reply = parse(nested.as_bytes()).unwrap();
        for _ in 0..MAX_DEPTH {
            match reply {
                Reply::Array(Some(mut items)) if items.len() == 1 => reply = items.remove(0),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(reply, Reply::Integer(7));
    }
}
