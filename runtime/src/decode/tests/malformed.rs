//! Malformed input must be rejected with a precise error, never a panic.

use super::captured::*;
use super::*;
use crate::decode::{decode, DecodeErrorReason, Message};

#[test]
fn every_truncation_of_every_captured_message_is_an_error() {
    let mut checked = 0;
    for (name, buf, ctx) in all_captured() {
        for len in 0..buf.len() {
            let prefix = buf.get(..len).unwrap();
            let err = decode(prefix, &ctx)
                .err()
                .unwrap_or_else(|| panic!("{name} truncated to {len} bytes decoded"));
            assert!(err.offset() <= len, "{name}/{len}: {err}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn truncations_of_the_v4_parallel_abort() {
    let buf = bytes(STREAM_ABORT_V4_PARALLEL);
    assert_eq!(buf.len(), 25);
    for len in 0..buf.len() {
        let result = decode(buf.get(..len).unwrap(), &V4);
        // Exactly 9 bytes is the (valid) non-parallel form; see parse::stream_abort.
        assert_eq!(result.is_ok(), len == 9, "len {len}: {result:?}");
    }
}

#[test]
fn empty_input() {
    let err = decode(&[], &V1).unwrap_err();
    assert_eq!(err.offset(), 0);
    assert!(matches!(err.reason(), DecodeErrorReason::Truncated { .. }));
}

#[test]
fn unknown_tags() {
    let known = b"BMCORYIUDTSEcAbPKrp";
    for tag in 0..=u8::MAX {
        let buf = [tag, 0, 0, 0, 0];
        let result = decode(&buf, &V4);
        if known.contains(&tag) {
            assert!(!matches!(result, Err(e) if e.reason() == DecodeErrorReason::UnknownTag(tag)));
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.reason(), DecodeErrorReason::UnknownTag(tag));
            assert_eq!(err.offset(), 0);
        }
    }
    assert_eq!(
        decode(b"Z", &V1).unwrap_err().to_string(),
        "malformed pgoutput message at byte 0: unknown message tag 0x5a"
    );
}

#[test]
fn text_length_larger_than_the_rest() {
    let mut buf = bytes(INSERT_WIDGET);
    // 'I', oid(4), 'N', ncols(2), 't', len(4), "1", then 't' at 14 and its length at 15.
    assert_eq!(buf.get(14), Some(&b't'));
    buf.splice(15..19, 0x7fff_ffffu32.to_be_bytes());
    let err = decode(&buf, &V1).unwrap_err();
    assert_eq!(err.offset(), 19);
    assert!(matches!(
        err.reason(),
        DecodeErrorReason::Truncated {
            field: "text column value",
            needed: 0x7fff_ffff,
            ..
        }
    ));
    assert_eq!(err.kind(), "Insert");
    assert!(err
        .to_string()
        .starts_with("malformed pgoutput Insert at byte 19: text column value"));

    buf.splice(15..19, (-1i32).to_be_bytes());
    let err = decode(&buf, &V1).unwrap_err();
    assert_eq!(err.offset(), 15);
    assert_eq!(
        err.reason(),
        DecodeErrorReason::NegativeLength {
            field: "text column length",
            value: -1
        }
    );
}

#[test]
fn message_content_length_larger_than_the_rest() {
    let mut buf = bytes(MESSAGE_TRANSACTIONAL);
    let len_at = buf.len() - 3 - 4;
    buf.splice(len_at..len_at + 4, 4u32.to_be_bytes());
    let err = decode(&buf, &V1).unwrap_err();
    assert_eq!(err.offset(), len_at + 4);
    assert_eq!(
        err.reason(),
        DecodeErrorReason::Truncated {
            field: "content",
            needed: 4,
            available: 3
        }
    );
}

#[test]
fn huge_counts_do_not_allocate_or_panic() {
    // Truncate claiming 2^31-1 relations, then ends.
    let err = decode(&[b'T', 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0x40, 0x0c], &V1).unwrap_err();
    assert_eq!(err.offset(), 10);
    // Insert claiming 65535 columns with one present.
    let err = decode(&[b'I', 0, 0, 0x40, 5, b'N', 0xff, 0xff, b'n'], &V1).unwrap_err();
    assert_eq!(err.offset(), 9);
    // Relation claiming 65535 columns with none present.
    let buf = bytes("52000040057075626c6963006974656d730064ffff");
    assert_eq!(decode(&buf, &V1).unwrap_err().offset(), buf.len());
}

#[test]
fn invalid_utf8_in_names() {
    let mut rel = bytes(RELATION_ITEMS);
    // 'R', oid(4), "public\0" at 5..12, "items\0" at 12..18.
    *rel.get_mut(13).unwrap() = 0xff;
    let err = decode(&rel, &V1).unwrap_err();
    assert_eq!(
        err.reason(),
        DecodeErrorReason::InvalidUtf8 {
            field: "relation name"
        }
    );
    assert_eq!(err.offset(), 12);

    let mut gid = bytes(PREPARE);
    let last = gid.len() - 2;
    *gid.get_mut(last).unwrap() = 0xc3; // a lone UTF-8 lead byte
    let err = decode(&gid, &V3).unwrap_err();
    assert_eq!(
        err.reason(),
        DecodeErrorReason::InvalidUtf8 { field: "gid" }
    );

    let mut origin = bytes(ORIGIN);
    *origin.get_mut(9).unwrap() = 0x80;
    assert_eq!(
        decode(&origin, &V1).unwrap_err().reason(),
        DecodeErrorReason::InvalidUtf8 {
            field: "origin name"
        }
    );
}

#[test]
fn missing_nul_terminator() {
    let mut buf = bytes(ORIGIN);
    buf.pop();
    assert_eq!(
        decode(&buf, &V1).unwrap_err().reason(),
        DecodeErrorReason::Unterminated {
            field: "origin name"
        }
    );
}

#[test]
fn bad_markers_and_kinds() {
    let mut buf = bytes(INSERT_NULLS);
    *buf.get_mut(5).unwrap() = b'K';
    let err = decode(&buf, &V1).unwrap_err();
    assert_eq!(err.offset(), 5);
    assert!(matches!(
        err.reason(),
        DecodeErrorReason::UnexpectedByte { found: b'K', .. }
    ));

    let mut buf = bytes(INSERT_NULLS);
    *buf.last_mut().unwrap() = b'x';
    let err = decode(&buf, &V1).unwrap_err();
    assert_eq!(err.offset(), buf.len() - 1);
    assert!(matches!(
        err.reason(),
        DecodeErrorReason::UnexpectedByte {
            field: "tuple column kind",
            found: b'x',
            ..
        }
    ));

    let mut buf = bytes(UPDATE_FULL);
    *buf.get_mut(5).unwrap() = b'X';
    assert_eq!(decode(&buf, &V1).unwrap_err().offset(), 5);

    let mut buf = bytes(DELETE_KEY);
    *buf.get_mut(5).unwrap() = b'N';
    assert_eq!(decode(&buf, &V1).unwrap_err().offset(), 5);

    let mut buf = bytes(STREAM_START_FIRST);
    *buf.last_mut().unwrap() = 2;
    assert_eq!(decode(&buf, &V2).unwrap_err().offset(), 5);

    let mut buf = bytes(MESSAGE_TRANSACTIONAL);
    *buf.get_mut(1).unwrap() = 3;
    assert_eq!(decode(&buf, &V1).unwrap_err().offset(), 1);
}

#[test]
fn trailing_bytes_and_wrong_stream_context() {
    let mut buf = bytes(COMMIT);
    buf.push(0);
    let err = decode(&buf, &V1).unwrap_err();
    assert_eq!(err.reason(), DecodeErrorReason::TrailingBytes { count: 1 });
    assert_eq!(err.offset(), buf.len() - 1);

    // A streamed Insert decoded as if outside a stream: the xid is misread as the oid and the
    // tuple marker is then wrong.
    assert!(decode(&bytes(STREAM_INSERT), &V2).is_err());
    // And the reverse.
    assert!(decode(&bytes(INSERT_WIDGET), &V2_STREAM).is_err());
    assert!(decode(&bytes(TRUNCATE_TWO), &V2_STREAM).is_err());
    // The v4 long form is not valid for earlier versions.
    let err = decode(&bytes(STREAM_ABORT_V4_PARALLEL), &V3).unwrap_err();
    assert_eq!(err.reason(), DecodeErrorReason::TrailingBytes { count: 16 });
}

#[test]
fn messages_newer_than_the_negotiated_version() {
    let err = decode(&bytes(STREAM_START_FIRST), &V1).unwrap_err();
    assert_eq!(
        err.reason(),
        DecodeErrorReason::UnsupportedVersion {
            required: 2,
            negotiated: 1
        }
    );
    let err = decode(&bytes(PREPARE), &V2).unwrap_err();
    assert_eq!(
        err.reason(),
        DecodeErrorReason::UnsupportedVersion {
            required: 3,
            negotiated: 2
        }
    );
    let v1_stream = DecodeContext {
        in_stream: true,
        protocol_version: 1,
    };
    let err = decode(&bytes(STREAM_INSERT), &v1_stream).unwrap_err();
    assert_eq!(
        err.reason(),
        DecodeErrorReason::UnsupportedVersion {
            required: 2,
            negotiated: 1
        }
    );
    // Version 1 messages still decode under later versions.
    assert!(matches!(decode(&bytes(BEGIN), &V4), Ok(Message::Begin(_))));
}
