//! Decoding of captured server bytes, field by field.

use super::captured::*;
use super::*;
use crate::decode::{
    decode, pg_epoch_micros_to_unix_micros, Cell, Message, OldTuple, RelationColumn, TupleData,
};

fn dec(hex_str: &str, ctx: DecodeContext) -> Message<'static> {
    // Leak so the borrowed message can outlive this helper; fine in tests.
    let buf: &'static [u8] = Box::leak(bytes(hex_str).into_boxed_slice());
    decode(buf, &ctx).unwrap_or_else(|e| panic!("{e}"))
}

fn text(s: &'static str) -> Cell<'static> {
    Cell::Text(s.as_bytes())
}

fn tuple(cells: &[Cell<'static>]) -> TupleData<'static> {
    TupleData {
        columns: cells.to_vec(),
    }
}

/// 2020-01-01 and 2100-01-01 as Unix microseconds.
fn assert_plausible_time(pg: i64) {
    let unix = pg_epoch_micros_to_unix_micros(pg);
    assert!(
        (1_577_836_800_000_000..4_102_444_800_000_000).contains(&unix),
        "{unix}"
    );
}

const ITEMS_OID: u32 = 0x4005;
const FULLROW_OID: u32 = 0x400c;
const BULK_OID: u32 = 0x4011;
const MOOD_OID: u32 = 0x4001;

fn items_columns() -> Vec<RelationColumn<'static>> {
    let col = |flags, name, type_oid| RelationColumn {
        flags,
        name,
        type_oid,
        type_modifier: -1,
    };
    vec![
        col(1, "id", 23),
        col(0, "name", 25),
        col(0, "qty", 23),
        col(0, "feeling", MOOD_OID),
        col(0, "big", 25),
    ]
}

#[test]
fn begin_and_commit_agree() {
    let Message::Begin(b) = dec(BEGIN, V1) else {
        panic!()
    };
    let Message::Commit(c) = dec(COMMIT, V1) else {
        panic!()
    };
    assert_eq!(b.xid, 731);
    assert_eq!(b.final_lsn, 0x0154_7c08);
    assert_eq!(c.commit_lsn, b.final_lsn);
    assert!(c.end_lsn > c.commit_lsn);
    assert_eq!(c.end_lsn, 0x0154_7c38);
    assert_eq!(c.flags, 0);
    assert_eq!(c.commit_time, b.commit_time);
    assert_plausible_time(b.commit_time);
}

#[test]
fn type_and_relation() {
    let Message::Type(t) = dec(TYPE_MOOD, V1) else {
        panic!()
    };
    assert_eq!(
        (t.xid, t.oid, t.namespace, t.name),
        (None, MOOD_OID, "public", "mood")
    );

    let Message::Relation(r) = dec(RELATION_ITEMS, V1) else {
        panic!()
    };
    assert_eq!(r.xid, None);
    assert_eq!(r.oid, ITEMS_OID);
    assert_eq!((r.namespace, r.name), ("public", "items"));
    assert_eq!(r.replica_identity, b'd');
    assert_eq!(r.columns, items_columns());
    let keys: Vec<_> = r
        .columns
        .iter()
        .filter(|c| c.is_key())
        .map(|c| c.name)
        .collect();
    assert_eq!(keys, ["id"]);
    // The enum column refers to the oid announced by the Type message.
    assert_eq!(r.columns[3].type_oid, t.oid);

    let Message::Relation(f) = dec(RELATION_FULLROW, V1) else {
        panic!()
    };
    assert_eq!(
        (f.oid, f.name, f.replica_identity),
        (FULLROW_OID, "fullrow", b'f')
    );
    // With REPLICA IDENTITY FULL every column is part of the identity.
    assert!(f.columns.iter().all(RelationColumn::is_key));
    assert_eq!(
        f.columns.iter().map(|c| c.type_oid).collect::<Vec<_>>(),
        [23, 25]
    );
}

#[test]
fn names_borrow_from_the_input() {
    let buf = bytes(RELATION_ITEMS);
    let Ok(Message::Relation(r)) = decode(&buf, &V1) else {
        panic!()
    };
    let range = buf.as_ptr_range();
    assert!(range.contains(&r.name.as_ptr()));
    assert!(range.contains(&r.columns[4].name.as_ptr()));
}

#[test]
fn inserts_with_text_nulls_and_binary() {
    let Message::Insert(i) = dec(INSERT_WIDGET, V1) else {
        panic!()
    };
    assert_eq!((i.xid, i.relation_oid), (None, ITEMS_OID));
    let want = [
        text("1"),
        text("widget"),
        text("5"),
        text("happy"),
        Cell::Null,
    ];
    assert_eq!(i.new, tuple(&want));

    let Message::Insert(n) = dec(INSERT_NULLS, V1) else {
        panic!()
    };
    assert_eq!(
        n.new,
        tuple(&[text("2"), Cell::Null, Cell::Null, Cell::Null, Cell::Null])
    );

    let Message::Insert(b) = dec(INSERT_WIDGET_BINARY, V1) else {
        panic!()
    };
    let want = [
        Cell::Binary(&[0, 0, 0, 1]),
        Cell::Binary(b"widget"),
        Cell::Binary(&[0, 0, 0, 5]),
        Cell::Binary(b"happy"),
        Cell::Null,
    ];
    assert_eq!(b.new, tuple(&want));
}

#[test]
fn updates_toast_key_change_and_full_identity() {
    let Message::Update(u) = dec(UPDATE_TOAST_UNCHANGED, V1) else {
        panic!()
    };
    assert_eq!(u.old, None);
    let want = [
        text("3"),
        text("toasty"),
        text("2"),
        Cell::Null,
        Cell::UnchangedToast,
    ];
    assert_eq!(u.new, tuple(&want));

    let Message::Update(k) = dec(UPDATE_KEY_CHANGED, V1) else {
        panic!()
    };
    let old_key = [text("1"), Cell::Null, Cell::Null, Cell::Null, Cell::Null];
    assert_eq!(k.old, Some(OldTuple::Key(tuple(&old_key))));
    let want = [
        text("10"),
        text("widget"),
        text("5"),
        text("happy"),
        Cell::Null,
    ];
    assert_eq!(k.new, tuple(&want));

    let Message::Update(f) = dec(UPDATE_FULL, V1) else {
        panic!()
    };
    assert_eq!(f.relation_oid, FULLROW_OID);
    assert_eq!(
        f.old,
        Some(OldTuple::Full(tuple(&[text("1"), text("first")])))
    );
    assert_eq!(f.new, tuple(&[text("1"), text("changed")]));
}

#[test]
fn deletes_key_and_full() {
    let Message::Delete(d) = dec(DELETE_KEY, V1) else {
        panic!()
    };
    assert_eq!((d.xid, d.relation_oid), (None, ITEMS_OID));
    let want = [text("2"), Cell::Null, Cell::Null, Cell::Null, Cell::Null];
    assert_eq!(d.old, OldTuple::Key(tuple(&want)));

    let Message::Delete(f) = dec(DELETE_FULL, V1) else {
        panic!()
    };
    assert_eq!(f.old, OldTuple::Full(tuple(&[text("2"), Cell::Null])));
    assert_eq!(f.old.data().columns.len(), 2);
}

#[test]
fn truncates() {
    let Message::Truncate(t) = dec(TRUNCATE_CASCADE_RESTART, V1) else {
        panic!()
    };
    assert_eq!((t.xid, t.options), (None, 3));
    assert!(t.cascade() && t.restart_identity());
    assert_eq!(t.relation_oids, [FULLROW_OID]);

    let Message::Truncate(t) = dec(TRUNCATE_TWO, V1) else {
        panic!()
    };
    assert_eq!(t.options, 0);
    assert!(!t.cascade() && !t.restart_identity());
    assert_eq!(t.relation_oids, [FULLROW_OID, BULK_OID]);
}

#[test]
fn logical_messages_and_origin() {
    let Message::Message(m) = dec(MESSAGE_NON_TRANSACTIONAL, V1) else {
        panic!()
    };
    assert!(!m.transactional);
    assert_eq!((m.xid, m.lsn, m.prefix), (None, 0x0156_4d18, "conduit"));
    assert_eq!(m.content, b"non-transactional hello");

    let Message::Message(m) = dec(MESSAGE_TRANSACTIONAL, V1) else {
        panic!()
    };
    assert!(m.transactional);
    assert_eq!(m.content, [0x00, 0xff, 0x10]);

    let Message::Origin(o) = dec(ORIGIN, V1) else {
        panic!()
    };
    assert_eq!((o.commit_lsn, o.name), (0xABCD_EF12, "capture_origin"));
}

#[test]
fn streamed_transaction() {
    let Message::StreamStart(s) = dec(STREAM_START_FIRST, V2) else {
        panic!()
    };
    assert_eq!((s.xid, s.first_segment), (743, true));
    let Message::StreamStart(s2) = dec(STREAM_START_NEXT, V2) else {
        panic!()
    };
    assert_eq!((s2.xid, s2.first_segment), (743, false));
    assert_eq!(dec(STREAM_STOP, V2), Message::StreamStop);

    let Message::Message(m) = dec(STREAM_MESSAGE, V2_STREAM) else {
        panic!()
    };
    assert_eq!(
        (m.xid, m.transactional, m.content),
        (Some(743), true, &b"in-stream"[..])
    );
    let Message::Type(t) = dec(STREAM_TYPE_MOOD, V2_STREAM) else {
        panic!()
    };
    assert_eq!((t.xid, t.oid, t.name), (Some(743), MOOD_OID, "mood"));
    let Message::Relation(r) = dec(STREAM_RELATION_ITEMS, V2_STREAM) else {
        panic!()
    };
    assert_eq!((r.xid, r.oid, r.name), (Some(743), ITEMS_OID, "items"));
    assert_eq!(r.columns, items_columns());

    let Message::Insert(i) = dec(STREAM_INSERT, V2_STREAM) else {
        panic!()
    };
    assert_eq!(i.xid, Some(743));
    let want = [
        text("100"),
        text("streamed"),
        text("7"),
        text("sad"),
        Cell::Null,
    ];
    assert_eq!(i.new, tuple(&want));
    let Message::Update(u) = dec(STREAM_UPDATE, V2_STREAM) else {
        panic!()
    };
    assert_eq!((u.xid, u.old.is_none()), (Some(743), true));
    assert_eq!(u.new.columns[2], text("8"));
    let Message::Delete(d) = dec(STREAM_DELETE, V2_STREAM) else {
        panic!()
    };
    assert_eq!(d.xid, Some(743));
    assert!(matches!(&d.old, OldTuple::Key(k) if k.columns[0] == text("100")));
    let Message::Truncate(tr) = dec(STREAM_TRUNCATE, V2_STREAM) else {
        panic!()
    };
    assert_eq!(
        (tr.xid, tr.options, tr.relation_oids),
        (Some(743), 0, vec![FULLROW_OID])
    );

    let Message::StreamCommit(c) = dec(STREAM_COMMIT, V2) else {
        panic!()
    };
    assert_eq!((c.xid, c.flags), (743, 0));
    assert_eq!((c.commit_lsn, c.end_lsn), (0x0160_7278, 0x0160_7388));
    // The commit comes after everything streamed for this transaction.
    assert!(c.commit_lsn > m.lsn);
    assert_plausible_time(c.commit_time);
}

#[test]
fn stream_aborts() {
    let Message::StreamAbort(a) = dec(STREAM_ABORT_SUBXACT, V2) else {
        panic!()
    };
    assert_eq!(
        (a.xid, a.subxid, a.abort_lsn, a.abort_time),
        (744, 745, None, None)
    );
    let Message::StreamAbort(a) = dec(STREAM_ABORT_TOPLEVEL, V2) else {
        panic!()
    };
    assert_eq!((a.xid, a.subxid), (746, 746));
    // A v4 server not in parallel mode still sends the short form.
    let Message::StreamAbort(a) = dec(STREAM_ABORT_TOPLEVEL, V4) else {
        panic!()
    };
    assert_eq!(a.abort_lsn, None);

    let Message::StreamAbort(p) = dec(STREAM_ABORT_V4_PARALLEL, V4) else {
        panic!()
    };
    assert_eq!((p.xid, p.subxid), (750, 751));
    assert_eq!(p.abort_lsn, Some(0x017f_1a50));
    assert_eq!(p.abort_time, Some(0x0003_03fa_127a_6c76));
}

#[test]
fn two_phase_commit() {
    let Message::BeginPrepare(b) = dec(BEGIN_PREPARE, V3) else {
        panic!()
    };
    let Message::Prepare(p) = dec(PREPARE, V3) else {
        panic!()
    };
    let Message::CommitPrepared(c) = dec(COMMIT_PREPARED, V3) else {
        panic!()
    };
    assert_eq!((b.xid, b.gid), (748, "conduit-gid-commit"));
    assert_eq!((p.xid, p.gid, p.flags), (748, "conduit-gid-commit", 0));
    assert_eq!((c.xid, c.gid, c.flags), (748, "conduit-gid-commit", 0));
    assert_eq!((b.prepare_lsn, b.end_lsn), (0x0174_e068, 0x0174_e170));
    assert_eq!((p.prepare_lsn, p.end_lsn), (b.prepare_lsn, b.end_lsn));
    assert_eq!(p.prepare_time, b.prepare_time);
    // COMMIT PREPARED is a new record right after the PREPARE's end.
    assert_eq!(c.commit_lsn, p.end_lsn);
    assert_eq!(c.end_lsn, 0x0174_e1b8);
    assert!(c.commit_time > p.prepare_time);
    assert_plausible_time(c.commit_time);
}

#[test]
fn two_phase_rollback() {
    let Message::Prepare(p) = dec(PREPARE_FOR_ROLLBACK, V3) else {
        panic!()
    };
    let Message::RollbackPrepared(r) = dec(ROLLBACK_PREPARED, V3) else {
        panic!()
    };
    assert_eq!((r.xid, r.gid, r.flags), (749, "conduit-gid-rollback", 0));
    assert_eq!(r.xid, p.xid);
    assert_eq!(r.prepare_end_lsn, p.end_lsn);
    assert_eq!(r.prepare_time, p.prepare_time);
    assert_eq!(r.rollback_end_lsn, 0x0174_e398);
    assert!(r.rollback_end_lsn > r.prepare_end_lsn);
    assert!(r.rollback_time > r.prepare_time);
}

#[test]
fn stream_prepare() {
    let Message::StreamPrepare(p) = dec(STREAM_PREPARE, V3) else {
        panic!()
    };
    assert_eq!((p.flags, p.xid, p.gid), (0, 750, "conduit-gid-stream"));
    assert_eq!((p.prepare_lsn, p.end_lsn), (0x017f_1948, 0x017f_1a50));
    assert_plausible_time(p.prepare_time);
    // Streamed under v3 with the in-stream context, too.
    assert!(matches!(dec(STREAM_INSERT, V3_STREAM), Message::Insert(i) if i.xid == Some(743)));
}

#[test]
fn epoch_conversion() {
    assert_eq!(pg_epoch_micros_to_unix_micros(0), 946_684_800_000_000);
    assert_eq!(pg_epoch_micros_to_unix_micros(-946_684_800_000_000), 0);
    assert_eq!(pg_epoch_micros_to_unix_micros(i64::MAX), i64::MAX);
    assert_eq!(
        pg_epoch_micros_to_unix_micros(i64::MIN),
        i64::MIN + 946_684_800_000_000
    );
}
