//! pgoutput message bodies captured from a real PostgreSQL 15.20 server (Debian 15.20-0+deb12u1).
//!
//! How they were captured: a throwaway cluster (`initdb -A trust`, started with
//! `wal_level=logical max_prepared_transactions=10`) with
//!
//! ```sql
//! CREATE TYPE mood AS ENUM ('sad','happy');
//! CREATE TABLE items (id int primary key, name text, qty int, feeling mood, big text);
//! CREATE TABLE fullrow (id int, note text); ALTER TABLE fullrow REPLICA IDENTITY FULL;
//! CREATE TABLE bulk (id int primary key, payload text);
//! CREATE PUBLICATION pub FOR ALL TABLES;
//! SELECT pg_create_logical_replication_slot('s1', 'pgoutput');
//! SELECT pg_create_logical_replication_slot('s2', 'pgoutput', false, true); -- two_phase
//! SELECT pg_replication_origin_create('capture_origin');
//! ```
//!
//! then the statements named on each constant, read back as
//! `SELECT lsn, xid, encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes(...)` with
//! * v1: `'proto_version','1','publication_names','pub','messages','true'` (and `'binary','true'`
//!   for the binary row);
//! * v2 streaming: `SET logical_decoding_work_mem = '64kB'` in the decoding session, then
//!   `'proto_version','2',...,'streaming','on'`; the transactions inserted 1000–2000 rows of
//!   200-byte text into `bulk` so that they were streamed in many Stream Start/Stop blocks;
//! * v3 two-phase (slot s2): `'proto_version','3',...,'two_phase','on','streaming','on'`.
//!
//! The ~100 kB Insert carrying the TOASTed value itself is not kept (too large to commit); the
//! Update that leaves it unchanged is. PostgreSQL 15 cannot speak protocol v4, so the v4
//! Stream Abort with abort LSN/timestamp is hand-built in the tests that use it.
//!
//! `lsn`/`xid` in each comment are the slot function's output columns for that row.

// ---- v1 ----
/// Begin of xid 731 (two-row INSERT into items). (lsn 0/1547A98, xid 731)
pub const BEGIN: &str = "420000000001547c08000303fa111df636000002db";

/// Type for the enum `mood`, sent before the first Relation using it. (lsn 0/1547A98, xid 731)
pub const TYPE_MOOD: &str = "59000040017075626c6963006d6f6f6400";

/// Relation public.items (id int PK, name text, qty int, feeling mood, big text). (lsn 0/1547A98, xid 731)
pub const RELATION_ITEMS: &str = concat!(
    "52000040057075626c6963006974656d73006400050169640000000017ffffffff006e616d650000000019ff",
    "ffffff007174790000000017ffffffff006665656c696e670000004001ffffffff006269670000000019ffff",
    "ffff",
);

/// INSERT (1, 'widget', 5, 'happy', NULL). (lsn 0/1547A98, xid 731)
pub const INSERT_WIDGET: &str =
    "49000040054e00057400000001317400000006776964676574740000000135740000000568617070796e";

/// INSERT (2, NULL, NULL, NULL, NULL). (lsn 0/1547B88, xid 731)
pub const INSERT_NULLS: &str = "49000040054e00057400000001326e6e6e6e";

/// Commit of xid 731. (lsn 0/1547C38, xid 731)
pub const COMMIT: &str = "43000000000001547c080000000001547c38000303fa111df636";

/// UPDATE items SET qty = 2 WHERE id = 3; `big` is a ~100 kB out-of-line TOAST value left unchanged. (lsn 0/15629C0, xid 733)
pub const UPDATE_TOAST_UNCHANGED: &str =
    "55000040054e00057400000001337400000006746f617374797400000001326e75";

/// UPDATE items SET id = 10 WHERE id = 1 (old key sent because the key changed). (lsn 0/1562A58, xid 734)
pub const UPDATE_KEY_CHANGED: &str = concat!(
    "55000040054b00057400000001316e6e6e6e4e00057400000002313074000000067769646765747400000001",
    "35740000000568617070796e",
);

/// DELETE FROM items WHERE id = 2 (default replica identity: key only). (lsn 0/1562B28, xid 735)
pub const DELETE_KEY: &str = "44000040054b00057400000001326e6e6e6e";

/// Relation public.fullrow (id int, note text), REPLICA IDENTITY FULL. (lsn 0/1562B98, xid 736)
pub const RELATION_FULLROW: &str = concat!(
    "520000400c7075626c69630066756c6c726f77006600020169640000000017ffffffff016e6f746500000000",
    "19ffffffff",
);

/// UPDATE fullrow SET note = 'changed' WHERE id = 1. (lsn 0/1562C50, xid 737)
pub const UPDATE_FULL: &str = concat!(
    "550000400c4f0002740000000131740000000566697273744e000274000000013174000000076368616e6765",
    "64",
);

/// DELETE FROM fullrow WHERE id = 2. (lsn 0/1562CE0, xid 738)
pub const DELETE_FULL: &str = "440000400c4f00027400000001326e";

/// TRUNCATE fullrow RESTART IDENTITY CASCADE. (lsn 0/1563580, xid 739)
pub const TRUNCATE_CASCADE_RESTART: &str = "5400000001030000400c";

/// TRUNCATE fullrow, bulk. (lsn 0/1564A50, xid 740)
pub const TRUNCATE_TWO: &str = "5400000002000000400c00004011";

/// pg_logical_emit_message(false, 'conduit', 'non-transactional hello'). (lsn 0/1564D18, xid 0)
pub const MESSAGE_NON_TRANSACTIONAL: &str = concat!(
    "4d000000000001564d18636f6e6475697400000000176e6f6e2d7472616e73616374696f6e616c2068656c6c",
    "6f",
);

/// pg_logical_emit_message(true, 'conduit', '\x00ff10'::bytea). (lsn 0/1564D58, xid 741)
pub const MESSAGE_TRANSACTIONAL: &str = "4d010000000001564d58636f6e64756974000000000300ff10";

/// Origin 'capture_origin', pg_replication_origin_xact_setup('0/ABCDEF12', now()). (lsn 0/1564E18, xid 742)
pub const ORIGIN: &str = "4f00000000abcdef12636170747572655f6f726967696e00";

/// the INSERT_WIDGET row again, decoded with 'binary' 'true'. (lsn 0/1547A98, xid 731)
pub const INSERT_WIDGET_BINARY: &str = concat!(
    "49000040054e0005620000000400000001620000000677696467657462000000040000000562000000056861",
    "7070796e",
);

// ---- v2 streaming ----
/// Stream Start, xid 743, first segment. (lsn 0/1564F70, xid 743)
pub const STREAM_START_FIRST: &str = "53000002e701";

/// transactional pg_logical_emit_message(true, 'conduit', 'in-stream') inside the stream. (lsn 0/1564F70, xid 743)
pub const STREAM_MESSAGE: &str =
    "4d000002e7010000000001564f70636f6e647569740000000009696e2d73747265616d";

/// Type for `mood`, with leading xid. (lsn 0/1564F70, xid 743)
pub const STREAM_TYPE_MOOD: &str = "59000002e7000040017075626c6963006d6f6f6400";

/// Relation public.items, with leading xid. (lsn 0/1564F70, xid 743)
pub const STREAM_RELATION_ITEMS: &str = concat!(
    "52000002e7000040057075626c6963006974656d73006400050169640000000017ffffffff006e616d650000",
    "000019ffffffff007174790000000017ffffffff006665656c696e670000004001ffffffff00626967000000",
    "0019ffffffff",
);

/// INSERT (100, 'streamed', 7, 'sad', NULL). (lsn 0/1564F70, xid 743)
pub const STREAM_INSERT: &str = concat!(
    "49000002e7000040054e00057400000003313030740000000873747265616d65647400000001377400000003",
    "7361646e",
);

/// Stream Stop. (lsn 0/1574348, xid 743)
pub const STREAM_STOP: &str = "45";

/// Stream Start, xid 743, later segment. (lsn 0/1574490, xid 743)
pub const STREAM_START_NEXT: &str = "53000002e700";

/// UPDATE items SET qty = 8 WHERE id = 100. (lsn 0/1606988, xid 743)
pub const STREAM_UPDATE: &str = concat!(
    "55000002e7000040054e00057400000003313030740000000873747265616d65647400000001387400000003",
    "7361646e",
);

/// DELETE FROM items WHERE id = 100. (lsn 0/16069E8, xid 743)
pub const STREAM_DELETE: &str = "44000002e7000040054b000574000000033130306e6e6e6e";

/// TRUNCATE fullrow. (lsn 0/1607248, xid 743)
pub const STREAM_TRUNCATE: &str = "54000002e700000001000000400c";

/// Stream Commit of xid 743. (lsn 0/1607388, xid 743)
pub const STREAM_COMMIT: &str = "63000002e70000000000016072780000000001607388000303fa11b15c06";

/// ROLLBACK TO SAVEPOINT inside streamed xid 744: subxact 745 aborted. (lsn 0/16A8CA8, xid 745)
pub const STREAM_ABORT_SUBXACT: &str = "41000002e8000002e9";

/// ROLLBACK of the whole streamed xid 746. (lsn 0/174A8E8, xid 746)
pub const STREAM_ABORT_TOPLEVEL: &str = "41000002ea000002ea";

// ---- v3 two-phase ----
/// Begin Prepare, gid 'conduit-gid-commit'. (lsn 0/174DCD8, xid 748)
pub const BEGIN_PREPARE: &str = concat!(
    "62000000000174e068000000000174e170000303fa127a541f000002ec636f6e647569742d6769642d636f6d",
    "6d697400",
);

/// PREPARE TRANSACTION 'conduit-gid-commit'. (lsn 0/174E170, xid 748)
pub const PREPARE: &str = concat!(
    "5000000000000174e068000000000174e170000303fa127a541f000002ec636f6e647569742d6769642d636f",
    "6d6d697400",
);

/// COMMIT PREPARED 'conduit-gid-commit'. (lsn 0/174E1B8, xid 748)
pub const COMMIT_PREPARED: &str = concat!(
    "4b00000000000174e170000000000174e1b8000303fa127a56ea000002ec636f6e647569742d6769642d636f",
    "6d6d697400",
);

/// PREPARE TRANSACTION 'conduit-gid-rollback'. (lsn 0/174E350, xid 749)
pub const PREPARE_FOR_ROLLBACK: &str = concat!(
    "5000000000000174e248000000000174e350000303fa127a5939000002ed636f6e647569742d6769642d726f",
    "6c6c6261636b00",
);

/// ROLLBACK PREPARED 'conduit-gid-rollback'. (lsn 0/174E398, xid 749)
pub const ROLLBACK_PREPARED: &str = concat!(
    "7200000000000174e350000000000174e398000303fa127a5939000303fa127a5a34000002ed636f6e647569",
    "742d6769642d726f6c6c6261636b00",
);

/// PREPARE TRANSACTION 'conduit-gid-stream' of a streamed transaction. (lsn 0/17F1A50, xid 750)
pub const STREAM_PREPARE: &str = concat!(
    "700000000000017f194800000000017f1a50000303fa127a6c76000002ee636f6e647569742d6769642d7374",
    "7265616d00",
);
