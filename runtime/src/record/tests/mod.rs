//! Tests of the events file format and the recorder, and the generator of the shipped event
//! files. Shared here: a sample of every value kind and the helpers to write and read it.

use std::io::Cursor;

use super::*;
use crate::event::{Batch, Change, Column, Datum, OldRow, Operation, Relation, Value};

fn col(name: &str, type_name: &str, oid: u32, key: bool) -> Column {
    Column {
        name: name.into(),
        type_name: type_name.into(),
        type_oid: oid,
        key,
    }
}

fn every_kind() -> Vec<(Column, Value)> {
    vec![
        (col("id", "bigint", 20, true), Value::Int(i64::MIN)),
        (col("n", "integer", 23, false), Value::Null),
        (col("body", "text", 25, false), Value::UnchangedToast),
        (col("f", "double precision", 701, false), Value::Float(0.1)),
        (col("f2", "real", 700, false), Value::Float(-0.0)),
        (
            col("f3", "double precision", 701, false),
            Value::Float(1e300),
        ),
        (
            col("f4", "double precision", 701, false),
            Value::Float(f64::INFINITY),
        ),
        (
            col("f5", "double precision", 701, false),
            Value::Float(f64::NEG_INFINITY),
        ),
        (
            col("f6", "double precision", 701, false),
            Value::Float(5e-324),
        ),
        (col("b", "boolean", 16, false), Value::Boolean(false)),
        (
            col("num", "numeric", 1700, false),
            Value::Numeric("-0.000100".into()),
        ),
        (
            col("t", "text", 25, false),
            Value::Text("ünï \"q\" \\ \n\t\u{1} 😀".into()),
        ),
        (
            col("by", "bytea", 17, false),
            Value::Bytes(vec![0, 0xff, 0x10]),
        ),
        (
            col("j", "jsonb", 3802, false),
            Value::Json("{\"a\": [1, 2.50, null]}".into()),
        ),
        (
            col("tz", "timestamp with time zone", 1184, false),
            Value::Timestamptz(i64::MAX),
        ),
        (
            col("ts", "timestamp without time zone", 1114, false),
            Value::Timestamp(-1),
        ),
        (col("d", "date", 1082, false), Value::Date(i32::MIN)),
        (
            col("tm", "time without time zone", 1083, false),
            Value::Time(86_400_000_000),
        ),
        (
            col("u", "uuid", 2950, false),
            Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        ),
        (
            col("o", "interval", 1186, false),
            Value::Other("1 day 02:00:00".into()),
        ),
        (
            col("arr", "integer[]", 1007, false),
            Value::Array(vec![
                Datum::Int(1),
                Datum::Null,
                Datum::Float(f64::NAN),
                Datum::Boolean(true),
                Datum::Numeric("1.10".into()),
                Datum::Text("".into()),
                Datum::Bytes(vec![]),
                Datum::Json("null".into()),
                Datum::Timestamptz(0),
                Datum::Timestamp(1),
                Datum::Date(-1),
                Datum::Time(1),
                Datum::Uuid("u".into()),
                Datum::Other("(1,2)".into()),
            ]),
        ),
        (col("empty", "text[]", 1009, false), Value::Array(vec![])),
    ]
}

fn sample() -> Vec<Batch> {
    let (columns, values): (Vec<_>, Vec<_>) = every_kind().into_iter().unzip();
    let rel = Relation {
        oid: 16_384,
        schema: "public".into(),
        name: "ütf \"tbl\"".into(),
        columns: columns.clone(),
    };
    let other = Relation {
        oid: u32::MAX,
        schema: "s".into(),
        name: "k".into(),
        columns: vec![col("id", "integer", 23, true), col("v", "text", 25, false)],
    };
    let base = Change {
        op: Operation::Insert,
        relation: 0,
        new: Some(values.clone()),
        old: None,
        xid: u32::MAX,
        commit_lsn: 0x16_B374_D848,
        end_lsn: u64::MAX,
        commit_time: i64::MIN,
        seq: 0,
    };
    vec![
        Batch {
            relations: vec![rel.clone(), other.clone()],
            changes: vec![
                base.clone(),
                Change {
                    op: Operation::Update,
                    relation: 1,
                    new: Some(vec![Value::Int(2), Value::UnchangedToast]),
                    old: Some(OldRow {
                        key_only: true,
                        values: vec![Value::Int(1), Value::Null],
                    }),
                    seq: 1,
                    commit_time: 1_795_515_330_123_456,
                    ..base.clone()
                },
                Change {
                    op: Operation::Delete,
                    new: None,
                    old: Some(OldRow {
                        key_only: false,
                        values,
                    }),
                    seq: 2,
                    commit_lsn: 0,
                    end_lsn: 0,
                    commit_time: 0,
                    xid: 0,
                    ..base.clone()
                },
                Change {
                    op: Operation::Truncate,
                    relation: 1,
                    new: None,
                    old: None,
                    seq: u32::MAX,
                    ..base.clone()
                },
            ],
        },
        // An empty batch, and one with no relations at all.
        Batch {
            relations: vec![other],
            changes: vec![],
        },
        Batch {
            relations: vec![],
            changes: vec![],
        },
    ]
}

fn to_text(batches: &[Batch]) -> String {
    let mut out = format!("{HEADER}\n");
    for (i, b) in batches.iter().enumerate() {
        batch_lines(b, i as u64, &mut out);
    }
    out
}

fn parse(text: &str) -> Result<Vec<Batch>, EventsError> {
    let mut r = EventReader::new("events.jsonl", Cursor::new(text.as_bytes()));
    let mut out = Vec::new();
    while let Some((_, b)) = r.next_batch()? {
        out.push(b);
    }
    Ok(out)
}

/// Bit-exact comparison (NaN == NaN, -0.0 != 0.0), which `PartialEq` on f64 does not give.
fn same(a: &[Batch], b: &[Batch]) -> bool {
    format!("{a:?}") == format!("{b:?}")
        && to_text(a) == to_text(b)
        && a.iter()
            .flat_map(|b| &b.changes)
            .zip(b.iter().flat_map(|b| &b.changes))
            .all(|(x, y)| floats(x) == floats(y))
}

fn floats(c: &Change) -> Vec<u64> {
    let row = |v: &Vec<Value>| {
        v.iter()
            .flat_map(|v| match v {
                Value::Float(f) => vec![f.to_bits()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|d| match d {
                        Datum::Float(f) => Some(f.to_bits()),
                        _ => None,
                    })
                    .collect(),
                _ => vec![],
            })
            .collect::<Vec<_>>()
    };
    let mut out = c.new.as_ref().map(row).unwrap_or_default();
    out.extend(c.old.as_ref().map(|o| row(&o.values)).unwrap_or_default());
    out
}

mod format;
mod recorder;
mod shipped;

/// The shipped event files parse and are in normal form (reading and writing them gives the
/// same bytes, apart from notes), so they diff cleanly against a fresh recording.
#[test]
fn shipped_event_files_are_normalised() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/events");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        seen += 1;
        let batches = read_events(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&path).unwrap();
        let without_notes: String = text
            .lines()
            .map(
                |l| match (l.find(",\"note\":"), l.find(",\"relations\":")) {
                    (Some(a), Some(b)) if a < b => format!("{}{}\n", &l[..a], &l[b..]),
                    _ => format!("{l}\n"),
                },
            )
            .collect();
        assert_eq!(to_text(&batches), without_notes, "{}", path.display());
    }
    assert!(seen >= 3, "expected event files in {}", dir.display());
}

// ------------------------------------------------------------------------------------------------
// The shipped event files (tests/events/*.jsonl) are written by this generator:
//     cargo test -p conduit-wasm --lib record::tests::write_shipped_event_files -- --ignored
// Their `.out` goldens are what the Rust stdout-json sink prints for them (see
// tests/tests/sink_tools.rs, which regenerates them with CONDUIT_BLESS=1).
#[test]
#[ignore = "writes tests/events/*.jsonl; run on purpose"]
fn write_shipped_event_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/events");
    std::fs::create_dir_all(&dir).unwrap();
    shipped::every_kind(&dir);
    shipped::toast_and_keys(&dir);
    shipped::unicode(&dir);
    shipped::batches(&dir);
    shipped::large(&dir);
    shipped::snapshot(&dir);
    shipped::exact_values(&dir);
}
