//! Property tests (proptest) over the same surface as the `pgoutput_decode` fuzz target in
//! `fuzz/`, kept brief enough for the normal suite: arbitrary and mutated bytes never make the
//! decoder panic under any context, and row messages encoded from arbitrary cells decode back to
//! exactly those cells.

use proptest::prelude::*;

use super::*;
use crate::decode::{decode, Cell, DecodeContext, Message, OldTuple, TupleData};

/// Every context a caller can build, including the out-of-range versions 0 and 5.
fn every_context() -> impl Iterator<Item = DecodeContext> {
    (0..=5).flat_map(|protocol_version| {
        [false, true].map(|in_stream| DecodeContext {
            in_stream,
            protocol_version,
        })
    })
}

fn check_no_panic(buf: &[u8]) {
    for ctx in every_context() {
        let first = decode(buf, &ctx);
        assert_eq!(first, decode(buf, &ctx), "decode is not deterministic");
        if let Err(e) = first {
            assert!(e.offset() <= buf.len(), "{e} (len {})", buf.len());
            assert!(e.to_string().starts_with("malformed pgoutput "));
        }
    }
}

fn cell() -> impl Strategy<Value = Cell<'static>> {
    prop_oneof![
        Just(Cell::Null),
        Just(Cell::UnchangedToast),
        prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|v| Cell::Text(Box::leak(v.into_boxed_slice()))),
        prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|v| Cell::Binary(Box::leak(v.into_boxed_slice()))),
    ]
}

fn tuple() -> impl Strategy<Value = TupleData<'static>> {
    prop::collection::vec(cell(), 0..8).prop_map(|columns| TupleData { columns })
}

/// TupleData as pgoutput lays it out.
fn encode_tuple(out: &mut Vec<u8>, t: &TupleData<'_>) {
    out.extend_from_slice(&(t.columns.len() as u16).to_be_bytes());
    for c in &t.columns {
        match c {
            Cell::Null => out.push(b'n'),
            Cell::UnchangedToast => out.push(b'u'),
            Cell::Text(v) | Cell::Binary(v) => {
                out.push(if matches!(c, Cell::Text(_)) {
                    b't'
                } else {
                    b'b'
                });
                out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..64)) {
        check_no_panic(&buf);
    }

    /// Arbitrary bytes behind each valid tag reach the per-message parsers, which random
    /// bytes alone rarely do.
    #[test]
    fn arbitrary_bodies_behind_every_tag_never_panic(
        tag in prop::sample::select(b"BMCORYIUDTSEcAbPKrp".to_vec()),
        body in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        let mut buf = vec![tag];
        buf.extend_from_slice(&body);
        check_no_panic(&buf);
    }

    /// Captured server messages with a few bytes overwritten, inserted or cut.
    #[test]
    fn mutated_captures_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
    ) {
        let all = all_captured();
        let mut buf = all[pick.index(all.len())].1.clone();
        for (at, byte, op) in edits {
            let at = at.index(buf.len() + 1);
            match op {
                0 if at < buf.len() => buf[at] = byte,
                1 => buf.insert(at, byte),
                _ => buf.truncate(at),
            }
        }
        check_no_panic(&buf);
    }

    #[test]
    fn insert_update_delete_round_trip(
        oid in any::<u32>(),
        xid in any::<u32>(),
        in_stream in any::<bool>(),
        new in tuple(),
        old in prop::option::of((any::<bool>(), tuple())),
    ) {
        let ctx = DecodeContext { in_stream, protocol_version: 2 };
        let head = |tag: u8| {
            let mut buf = vec![tag];
            if in_stream {
                buf.extend_from_slice(&xid.to_be_bytes());
            }
            buf.extend_from_slice(&oid.to_be_bytes());
            buf
        };
        let xid = in_stream.then_some(xid);
        let old = old.map(|(full, t)| if full { OldTuple::Full(t) } else { OldTuple::Key(t) });
        let push_old = |buf: &mut Vec<u8>, old: &OldTuple<'_>| {
            buf.push(if matches!(old, OldTuple::Full(_)) { b'O' } else { b'K' });
            encode_tuple(buf, old.data());
        };

        let mut insert = head(b'I');
        insert.push(b'N');
        encode_tuple(&mut insert, &new);
        let Message::Insert(i) = decode(&insert, &ctx).unwrap() else { panic!("not an Insert") };
        prop_assert_eq!((i.xid, i.relation_oid, &i.new), (xid, oid, &new));

        let mut update = head(b'U');
        if let Some(old) = &old {
            push_old(&mut update, old);
        }
        update.push(b'N');
        encode_tuple(&mut update, &new);
        let Message::Update(u) = decode(&update, &ctx).unwrap() else { panic!("not an Update") };
        prop_assert_eq!((u.xid, u.relation_oid, &u.old, &u.new), (xid, oid, &old, &new));

        if let Some(old) = &old {
            let mut delete = head(b'D');
            push_old(&mut delete, old);
            let Message::Delete(d) = decode(&delete, &ctx).unwrap() else { panic!("not a Delete") };
            prop_assert_eq!((d.xid, d.relation_oid, &d.old), (xid, oid, old));
        }
        // The same bytes one shorter are always an error, never a different message.
        prop_assert!(decode(&insert[..insert.len() - 1], &ctx).is_err());
    }
}
