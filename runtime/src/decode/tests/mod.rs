//! Decoder tests. `captured` holds real server bytes; `real` checks what they decode to;
//! `malformed`, `fuzz` and `proptests` check that bad input is rejected without panicking.

mod captured;
mod fuzz;
mod malformed;
mod proptests;
mod real;

use super::DecodeContext;
use captured::*;

pub(super) const V1: DecodeContext = DecodeContext {
    in_stream: false,
    protocol_version: 1,
};
pub(super) const V2: DecodeContext = DecodeContext {
    in_stream: false,
    protocol_version: 2,
};
pub(super) const V2_STREAM: DecodeContext = DecodeContext {
    in_stream: true,
    protocol_version: 2,
};
pub(super) const V3: DecodeContext = DecodeContext {
    in_stream: false,
    protocol_version: 3,
};
pub(super) const V3_STREAM: DecodeContext = DecodeContext {
    in_stream: true,
    protocol_version: 3,
};
pub(super) const V4: DecodeContext = DecodeContext {
    in_stream: false,
    protocol_version: 4,
};

pub(super) fn bytes(hex_str: &str) -> Vec<u8> {
    hex::decode(hex_str).expect("test constant is valid hex")
}

/// Hand-built (PostgreSQL 15 cannot produce it): a v4 `streaming = parallel` Stream Abort
/// for xid 750 / subxid 751 with abort LSN 0/17F1A50 and a timestamp.
pub(super) const STREAM_ABORT_V4_PARALLEL: &str = concat!(
    "41",
    "000002ee",
    "000002ef",
    "00000000017f1a50",
    "000303fa127a6c76"
);

/// Every captured message with the context it was captured under.
pub(super) fn all_captured() -> Vec<(&'static str, Vec<u8>, DecodeContext)> {
    let v1 = [
        ("BEGIN", BEGIN),
        ("TYPE_MOOD", TYPE_MOOD),
        ("RELATION_ITEMS", RELATION_ITEMS),
        ("INSERT_WIDGET", INSERT_WIDGET),
        ("INSERT_NULLS", INSERT_NULLS),
        ("COMMIT", COMMIT),
        ("UPDATE_TOAST_UNCHANGED", UPDATE_TOAST_UNCHANGED),
        ("UPDATE_KEY_CHANGED", UPDATE_KEY_CHANGED),
        ("DELETE_KEY", DELETE_KEY),
        ("RELATION_FULLROW", RELATION_FULLROW),
        ("UPDATE_FULL", UPDATE_FULL),
        ("DELETE_FULL", DELETE_FULL),
        ("TRUNCATE_CASCADE_RESTART", TRUNCATE_CASCADE_RESTART),
        ("TRUNCATE_TWO", TRUNCATE_TWO),
        ("MESSAGE_NON_TRANSACTIONAL", MESSAGE_NON_TRANSACTIONAL),
        ("MESSAGE_TRANSACTIONAL", MESSAGE_TRANSACTIONAL),
        ("ORIGIN", ORIGIN),
        ("INSERT_WIDGET_BINARY", INSERT_WIDGET_BINARY),
    ];
    let v2_in_stream = [
        ("STREAM_MESSAGE", STREAM_MESSAGE),
        ("STREAM_TYPE_MOOD", STREAM_TYPE_MOOD),
        ("STREAM_RELATION_ITEMS", STREAM_RELATION_ITEMS),
        ("STREAM_INSERT", STREAM_INSERT),
        ("STREAM_UPDATE", STREAM_UPDATE),
        ("STREAM_DELETE", STREAM_DELETE),
        ("STREAM_TRUNCATE", STREAM_TRUNCATE),
    ];
    let v2 = [
        ("STREAM_START_FIRST", STREAM_START_FIRST),
        ("STREAM_STOP", STREAM_STOP),
        ("STREAM_START_NEXT", STREAM_START_NEXT),
        ("STREAM_COMMIT", STREAM_COMMIT),
        ("STREAM_ABORT_SUBXACT", STREAM_ABORT_SUBXACT),
        ("STREAM_ABORT_TOPLEVEL", STREAM_ABORT_TOPLEVEL),
    ];
    let v3 = [
        ("BEGIN_PREPARE", BEGIN_PREPARE),
        ("PREPARE", PREPARE),
        ("COMMIT_PREPARED", COMMIT_PREPARED),
        ("PREPARE_FOR_ROLLBACK", PREPARE_FOR_ROLLBACK),
        ("ROLLBACK_PREPARED", ROLLBACK_PREPARED),
        ("STREAM_PREPARE", STREAM_PREPARE),
    ];
    let tagged = |list: &[(&'static str, &'static str)], ctx: DecodeContext| {
        list.iter()
            .map(move |&(name, hex_str)| (name, bytes(hex_str), ctx))
            .collect::<Vec<_>>()
    };
    let mut all = tagged(&v1, V1);
    all.extend(tagged(&v2_in_stream, V2_STREAM));
    all.extend(tagged(&v2, V2));
    all.extend(tagged(&v3, V3));
    all
}

#[test]
fn every_captured_message_decodes_under_its_context() {
    let all = all_captured();
    assert_eq!(all.len(), 37);
    for (name, buf, ctx) in &all {
        if let Err(e) = super::decode(buf, ctx) {
            panic!("{name}: {e}");
        }
    }
}
