//! The decoder alone, and decode + assemble, on pgoutput Insert messages.
//!
//! * `decode/insert_captured`: the 5-column Insert captured from PostgreSQL 15 that the decoder's
//!   tests use (`INSERT_WIDGET` in `runtime/src/decode/tests/captured.rs`, copied here because
//!   that module is test-only).
//! * `decode/insert_16_text`: an Insert of 16 text columns of 16–20 bytes each, laid out as
//!   pgoutput v1 sends it.
//! * `assemble/insert_16_text`: decode and assemble a transaction of 1000 such Inserts (Begin,
//!   1000 × Insert, Commit) into a `Transaction` of typed changes: the per-row cost of everything
//!   between the socket and the batcher.
//!
//! `cargo bench -p conduit-wasm --bench decode`

use std::hint::black_box;
use std::time::Duration;

use conduit_wasm::assemble::{Assembler, TypeRegistry};
use conduit_wasm::decode::{decode, DecodeContext};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const V1: DecodeContext = DecodeContext {
    in_stream: false,
    protocol_version: 1,
};

/// Copied from `runtime/src/decode/tests/captured.rs` (`INSERT_WIDGET`): PostgreSQL 15.20's
/// pgoutput v1 bytes for `INSERT INTO items VALUES (1, 'widget', 5, 'happy', NULL)`.
const INSERT_WIDGET: &str =
    "49000040054e00057400000001317400000006776964676574740000000135740000000568617070796e";

const RELATION_OID: u32 = 16_384;
const COLUMNS: usize = 16;
const ROWS_PER_TXN: usize = 1000;

fn cstring(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// Relation message: public.bench_rows, `COLUMNS` text columns, the first one the key.
fn relation_message() -> Vec<u8> {
    let mut m = vec![b'R'];
    m.extend_from_slice(&RELATION_OID.to_be_bytes());
    cstring(&mut m, "public");
    cstring(&mut m, "bench_rows");
    m.push(b'd');
    m.extend_from_slice(&(COLUMNS as i16).to_be_bytes());
    for c in 0..COLUMNS {
        m.push(u8::from(c == 0));
        cstring(&mut m, &format!("column_{c}"));
        m.extend_from_slice(&25u32.to_be_bytes()); // text
        m.extend_from_slice(&(-1i32).to_be_bytes());
    }
    m
}

/// Insert message with `COLUMNS` text values.
fn insert_message(row: usize) -> Vec<u8> {
    let mut m = vec![b'I'];
    m.extend_from_slice(&RELATION_OID.to_be_bytes());
    m.push(b'N');
    m.extend_from_slice(&(COLUMNS as i16).to_be_bytes());
    for c in 0..COLUMNS {
        let value = format!("row {row} value {c}");
        m.push(b't');
        m.extend_from_slice(&(value.len() as i32).to_be_bytes());
        m.extend_from_slice(value.as_bytes());
    }
    m
}

fn begin_message(xid: u32) -> Vec<u8> {
    let mut m = vec![b'B'];
    m.extend_from_slice(&0x0154_7C08_u64.to_be_bytes()); // final LSN
    m.extend_from_slice(&848_798_003_417_581i64.to_be_bytes()); // commit time, PG epoch
    m.extend_from_slice(&xid.to_be_bytes());
    m
}

fn commit_message() -> Vec<u8> {
    let mut m = vec![b'C', 0];
    m.extend_from_slice(&0x0154_7C08_u64.to_be_bytes()); // commit LSN
    m.extend_from_slice(&0x0154_7C38_u64.to_be_bytes()); // end LSN
    m.extend_from_slice(&848_798_003_417_581i64.to_be_bytes());
    m
}

fn decoder(c: &mut Criterion) {
    let captured = hex::decode(INSERT_WIDGET).expect("hex");
    let wide = insert_message(12_345);
    let mut group = c.benchmark_group("decode");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    group.bench_function("insert_captured", |b| {
        b.iter(|| decode(black_box(&captured), &V1).expect("decodes"))
    });
    group.bench_function("insert_16_text", |b| {
        b.iter(|| decode(black_box(&wide), &V1).expect("decodes"))
    });
    group.finish();
}

fn assembler(c: &mut Criterion) {
    let relation = relation_message();
    let begin = begin_message(731);
    let commit = commit_message();
    let inserts: Vec<Vec<u8>> = (0..ROWS_PER_TXN).map(insert_message).collect();
    let mut asm = Assembler::new(TypeRegistry::default());
    asm.apply(decode(&relation, &V1).expect("relation decodes"))
        .expect("relation applies");

    let mut group = c.benchmark_group("assemble");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(ROWS_PER_TXN as u64));
    group.bench_function("insert_16_text", |b| {
        b.iter(|| {
            asm.apply(decode(&begin, &V1).expect("begin"))
                .expect("begin");
            for m in &inserts {
                asm.apply(decode(black_box(m), &V1).expect("insert"))
                    .expect("insert applies");
            }
            let txn = asm
                .apply(decode(&commit, &V1).expect("commit"))
                .expect("commit applies")
                .expect("a transaction");
            assert_eq!(txn.changes.len(), ROWS_PER_TXN);
            txn
        })
    });
    group.finish();
}

criterion_group!(benches, decoder, assembler);
criterion_main!(benches);
