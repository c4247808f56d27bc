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

#[test]
fn every_value_kind_round_trips_exactly() {
    let batches = sample();
    let text = to_text(&batches);
    let back = parse(&text).unwrap();
    assert!(same(&batches, &back), "{text}");
    assert_eq!(to_text(&back), text);
    // One line per change plus one per batch plus the header.
    assert_eq!(text.lines().count(), 1 + 3 + 4);
}

#[test]
fn lines_are_readable() {
    let text = to_text(&sample());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], r#"{"format":"conduit-wasm-events","version":1}"#);
    assert!(lines[1].starts_with(
        r#"{"batch":0,"relations":[{"oid":16384,"schema":"public","name":"ütf \"tbl\"","columns":[{"name":"id","type":"bigint","oid":20,"key":true},"#
    ));
    assert!(lines[2].starts_with(
        r#"{"op":"insert","rel":0,"table":"public.ütf \"tbl\"","xid":4294967295,"commit_lsn":"16/B374D848","end_lsn":"FFFFFFFF/FFFFFFFF","commit_time":"-290308-12-21T19:59:05.224192Z","seq":0,"new":[{"int":-9223372036854775808},null,"unchanged-toast",{"float":"0.1"},{"float":"-0.0"},{"float":"1e300"},{"float":"Infinity"},{"float":"-Infinity"},{"float":"5e-324"},{"boolean":false},{"numeric":"-0.000100"},{"text":"ünï \"q\" \\ \n\t\u0001 😀"},{"bytes":"00ff10"},{"json":"{\"a\": [1, 2.50, null]}"},"#
    ), "{}", lines[2]);
    assert!(lines[3].contains(
        r#""new":[{"int":2},"unchanged-toast"],"old":{"key_only":true,"values":[{"int":1},null]}}"#
    ));
    assert!(lines[5].starts_with(r#"{"op":"truncate","rel":1,"table":"s.k""#));
    assert!(!lines[5].contains("\"new\"") && !lines[5].contains("\"old\""));
    assert_eq!(lines[7], r#"{"batch":2,"relations":[]}"#);
}

#[test]
fn hand_written_shortcuts_are_accepted() {
    let text = r#"
{"batch":7,"note":"no header, integers for instants","relations":[{"oid":1,"schema":"a","name":"b","columns":[{"name":"x","type":"float8","oid":701,"key":false}]}]}
{"op":"insert","rel":0,"xid":1,"commit_lsn":1,"end_lsn":"0/2","commit_time":5,"seq":0,"new":[{"float":1.5}]}
{"op":"insert","rel":0,"xid":1,"commit_lsn":1,"end_lsn":2,"commit_time":"1970-01-01T00:00:00Z","seq":1,"new":null,"old":null}

"#;
    let b = parse(text).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].changes[0].new, Some(vec![Value::Float(1.5)]));
    assert_eq!(b[0].changes[0].commit_time, 5);
    assert_eq!(b[0].changes[0].end_lsn, 2);
    assert_eq!(b[0].changes[1].new, None);
}

#[test]
fn errors_name_the_line() {
    let rel = r#"{"batch":0,"relations":[{"oid":1,"schema":"a","name":"b","columns":[{"name":"x","type":"int","oid":23,"key":true}]}]}"#;
    let change = |rest: &str| {
        format!(
            r#"{{"op":"insert","rel":0,"xid":1,"commit_lsn":"0/1","end_lsn":"0/2","commit_time":"1970-01-01T00:00:00.000000Z","seq":0{rest}}}"#
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (format!("{rel}\n{}\n{{oops\n", change("")), "events.jsonl line 3: not a JSON object"),
        (change(""), "events.jsonl line 1: a change before the first batch line"),
        (format!("{rel}\n{}", change(r#","new":[1]"#)), "line 2: new.x: 1 is not a value"),
        (format!("{rel}\n{}", change(r#","new":[]"#)), "line 2: \"new\" has 0 value(s) but a.b has 1 column(s)"),
        (format!("{rel}\n{}", change(r#","new":[{"int":"1"}]"#)), "line 2: new.x: \"int\" must be an integer"),
        (format!("{rel}\n{}", change(r#","new":[{"integer":1}]"#)), "line 2: new.x: unknown value kind \"integer\""),
        (format!("{rel}\n{}", change(r#","new":[{"array":[{"array":[]}]}]"#)), "line 2: new.x: element 0: arrays do not nest"),
        (format!("{rel}\n{}", change(r#","neww":[]"#)), "line 2: unknown key \"neww\" in a change line"),
        (format!("{rel}\n{}", change(r#","table":"a.c""#)), "line 2: \"table\" is \"a.c\" but relation 0 is \"a.b\""),
        (format!("{rel}\n\n{}", change("").replace("\"rel\":0", "\"rel\":1")), "line 3: \"rel\" 1 but this batch has 1 relation(s)"),
        (format!("{rel}\n{}", change("").replace("0/1", "0/G")), "line 2: \"commit_lsn\" \"0/G\" is not an LSN"),
        (format!("{rel}\n{}", change("").replace(".000000Z", "")), "line 2: commit_time: "),
        (format!("{rel}\n{}", change(r#","new":[{"date":"2026-02-30"}]"#)), "line 2: new.x: \"2026-02-30\" is not a day of the calendar"),
        (format!("{rel}\n{}", change(r#","new":[{"float":"1,5"}]"#)), "line 2: new.x: \"float\" \"1,5\" is not a number"),
        (format!("{rel}\n{}", change(r#","new":[{"bytes":"0"}]"#)), "line 2: new.x: \"bytes\" must be hex"),
        (format!("{{\"format\":\"conduit-wasm-events\",\"version\":2}}\n{rel}"), "line 1: events format version 2"),
        (format!("{rel}\n{HEADER}"), "line 2: a format header after the first line"),
        (format!("{rel}\n{}", &change("")[..40]), "line 2: not a JSON object: EOF while parsing a string at line 1 column 40 (the last line is cut short"),
    ];
    for (text, expected) in cases {
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} does not contain {expected:?}"
        );
        assert!(!err.contains('\n'), "{err:?}");
    }
}

#[test]
fn recorder_appends_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let batches = sample();
    let mut rec = Recorder::create(&path).unwrap();
    rec.append(&batches[0]).unwrap();
    rec.append(&batches[1]).unwrap();
    rec.close().unwrap();
    let mut rec = Recorder::append_to(&path).unwrap();
    assert_eq!(rec.batches(), 2);
    rec.append(&batches[2]).unwrap();
    rec.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, to_text(&batches));
    assert!(same(&read_events(&path).unwrap(), &batches));

    let fresh = dir.path().join("new.jsonl");
    let mut rec = Recorder::append_to(&fresh).unwrap();
    rec.append(&batches[2]).unwrap();
    rec.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(&fresh).unwrap(),
        format!("{HEADER}\n{{\"batch\":0,\"relations\":[]}}\n")
    );
}

/// `run --record` continues an existing recording; it must not glue a batch onto a line a killed
/// run cut short, nor append to a file that is not a recording.
#[test]
fn recorder_refuses_to_continue_what_it_would_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let batches = sample();
    let cut = dir.path().join("cut.jsonl");
    let text = to_text(&batches);
    std::fs::write(&cut, &text[..text.len() - 10]).unwrap();
    let err = Recorder::append_to(&cut).err().unwrap().to_string();
    assert!(
        err.starts_with(&format!(
            "events file {}: its last line is cut short",
            cut.display()
        )),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");

    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "hello\n").unwrap();
    let err = Recorder::append_to(&other).err().unwrap().to_string();
    assert!(err.contains("not a conduit-wasm events file"), "{err}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "hello\n");

    // A header alone, or a hand-written first batch line with spaces, is a recording to continue.
    let header_only = dir.path().join("header.jsonl");
    std::fs::write(&header_only, format!("{HEADER}\n")).unwrap();
    assert_eq!(Recorder::append_to(&header_only).unwrap().batches(), 0);
    let spaced = dir.path().join("spaced.jsonl");
    std::fs::write(&spaced, "\n{ \"batch\": 0, \"relations\": [] }\n").unwrap();
    let mut rec = Recorder::append_to(&spaced).unwrap();
    rec.append(&batches[2]).unwrap();
    rec.close().unwrap();
    assert_eq!(read_events(&spaced).unwrap().len(), 2);
}

#[test]
fn missing_file_is_one_line() {
    let err = read_events("/nonexistent/x.jsonl").unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/x.jsonl: not found"), "{err}");
}

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

mod shipped {
    use super::*;

    pub struct File {
        pub batches: Vec<(Option<&'static str>, Batch)>,
    }

    impl File {
        pub fn text(&self) -> String {
            let mut out = format!("{HEADER}\n");
            for (i, (note, b)) in self.batches.iter().enumerate() {
                let mut lines = String::new();
                batch_lines(b, i as u64, &mut lines);
                if let Some(note) = note {
                    let at = lines.find(",\"relations\":").unwrap();
                    let mut n = String::new();
                    n.push_str(",\"note\":");
                    n.push_str(&serde_json::to_string(note).unwrap());
                    lines.insert_str(at, &n);
                }
                out.push_str(&lines);
            }
            out
        }
    }

    pub fn rel(oid: u32, schema: &str, name: &str, cols: &[(&str, &str, u32, bool)]) -> Relation {
        Relation {
            oid,
            schema: schema.into(),
            name: name.into(),
            columns: cols.iter().map(|(n, t, o, k)| col(n, t, *o, *k)).collect(),
        }
    }

    /// A transaction's changes get consecutive seqs; each transaction its own xid and LSNs.
    pub struct Tx {
        pub xid: u32,
        pub lsn: u64,
        pub time: i64,
        pub seq: u32,
    }

    impl Tx {
        pub fn new(xid: u32, lsn: u64, time: i64) -> Tx {
            Tx {
                xid,
                lsn,
                time,
                seq: 0,
            }
        }
        pub fn change(
            &mut self,
            op: Operation,
            relation: u32,
            new: Option<Vec<Value>>,
            old: Option<(bool, Vec<Value>)>,
        ) -> Change {
            let c = Change {
                op,
                relation,
                new,
                old: old.map(|(key_only, values)| OldRow { key_only, values }),
                xid: self.xid,
                commit_lsn: self.lsn,
                end_lsn: self.lsn + 0x30,
                commit_time: self.time,
                seq: self.seq,
            };
            self.seq += 1;
            c
        }
        pub fn ins(&mut self, relation: u32, new: Vec<Value>) -> Change {
            self.change(Operation::Insert, relation, Some(new), None)
        }
    }

    pub fn t(s: &str) -> Value {
        Value::Text(s.into())
    }
    pub fn j(s: &str) -> Value {
        Value::Json(s.into())
    }
    pub fn f(x: f64) -> Value {
        Value::Float(x)
    }
}

#[test]
#[ignore = "writes tests/events/*.jsonl; run on purpose"]
fn write_shipped_event_files() {
    use shipped::*;
    use Value as V;
    const T0: i64 = 1_795_515_330_123_456; // 2026-11-24T10:15:30.123456Z
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/events");
    std::fs::create_dir_all(&dir).unwrap();

    // ---- every-kind.jsonl
    let kinds = rel(
        16_401,
        "public",
        "kinds",
        &[
            ("id", "bigint", 20, true),
            ("i2", "smallint", 21, false),
            ("f8", "double precision", 701, false),
            ("f4", "real", 700, false),
            ("ok", "boolean", 16, false),
            ("amount", "numeric(30,10)", 1700, false),
            ("name", "text", 25, false),
            ("code", "character(3)", 1042, false),
            ("raw", "bytea", 17, false),
            ("doc", "jsonb", 3802, false),
            ("at", "timestamp with time zone", 1184, false),
            ("local", "timestamp without time zone", 1114, false),
            ("day", "date", 1082, false),
            ("clock", "time without time zone", 1083, false),
            ("uid", "uuid", 2950, false),
            ("span", "interval", 1186, false),
            ("tags", "text[]", 1009, false),
        ],
    );
    let mut tx = Tx::new(740, 0x16_B374_D848, T0);
    let typical = vec![
        V::Int(1),
        V::Int(-32768),
        f(3.25),
        f(0.1),
        V::Boolean(true),
        V::Numeric("12345.6700000000".into()),
        t("plain text"),
        t("ab "),
        V::Bytes(b"\x00\x01binary\xff".to_vec()),
        j(r#"{"gift": true, "items": [1, 2.50, "x"], "n": null}"#),
        V::Timestamptz(T0),
        V::Timestamp(T0),
        V::Date(20_781),
        V::Time(36_930_123_456),
        V::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        V::Other("1 day 02:00:00".into()),
        V::Array(vec![
            Datum::Text("a".into()),
            Datum::Null,
            Datum::Text("c".into()),
        ]),
    ];
    let nulls = {
        let mut v = vec![V::Int(2)];
        v.extend(std::iter::repeat_n(V::Null, 16));
        v
    };
    let edges = vec![
        V::Int(i64::MIN),
        V::Int(i64::MAX),
        f(f64::NAN),
        f(f64::INFINITY),
        V::Boolean(false),
        V::Numeric("-0.0000000001".into()),
        t(""),
        t("   "),
        V::Bytes(vec![]),
        j("null"),
        V::Timestamptz(i64::MIN),
        V::Timestamp(i64::MAX),
        V::Date(i32::MIN),
        V::Time(86_400_000_000),
        V::Uuid("00000000-0000-0000-0000-000000000000".into()),
        V::Other("infinity".into()),
        V::Array(vec![]),
    ];
    let mut b0 = vec![tx.ins(0, typical), tx.ins(0, nulls), tx.ins(0, edges)];
    // numerics keep every digit
    let num = rel(
        16_402,
        "public",
        "numerics",
        &[("id", "integer", 23, true), ("n", "numeric", 1700, false)],
    );
    let mut tx1 = Tx::new(741, 0x16_B374_E000, T0 + 1);
    let mut b1 = Vec::new();
    for (i, n) in [
        "0",
        "-0",
        "1.10",
        "12345678901234567890.123456789012345678901234567890",
        "-9999999999999999999999999999.99",
        "NaN",
        "Infinity",
        "-Infinity",
        "1E+3",
        "0.000000000000000000000000000001",
    ]
    .iter()
    .enumerate()
    {
        b1.push(tx1.ins(0, vec![V::Int(i as i64), V::Numeric((*n).into())]));
    }
    // floats: formatting of the shortest round-trip form, and the non-finite strings
    let flt = rel(
        16_403,
        "public",
        "floats",
        &[
            ("id", "integer", 23, true),
            ("x", "double precision", 701, false),
        ],
    );
    let mut tx2 = Tx::new(742, 0x16_B374_F000, T0 + 2);
    let mut b2 = Vec::new();
    let floats = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        1.5,
        -0.25,
        0.1,
        0.2,
        0.30000000000000004,
        1.0 / 3.0,
        2.0 / 3.0,
        100.0,
        123456789.0,
        1e15,
        1e16,
        1.5e16,
        123456789012345.6,
        1234567890123456.8,
        9007199254740992.0,
        9007199254740994.0,
        1e21,
        1e22,
        1e23,
        1e100,
        1e300,
        1.7976931348623157e308,
        1e-4,
        1e-5,
        1.5e-5,
        1e-6,
        1e-7,
        2.5e-5,
        0.000123456,
        1.23e-20,
        2.2250738585072014e-308,
        2.225073858507201e-308,
        5e-324,
        -5e-324,
        std::f64::consts::PI,
        std::f64::consts::E,
        6.02214076e23,
        6.62607015e-34,
        299792458.0,
        0.5,
        0.05,
        0.005,
        0.0005,
        5e-5,
        5e-6,
        999999999999999.9,
        9999999999999998.0,
        0.999999999999999,
        1.0000000000000002,
        4.35,
        0.07,
        1.1,
        33.33,
        1e-300,
        1.7e308,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f32::MAX as f64,
        f32::MIN_POSITIVE as f64,
        0.1f32 as f64,
        16777217.0,
        4503599627370496.5,
    ];
    for (i, x) in floats.iter().enumerate() {
        b2.push(tx2.ins(0, vec![V::Int(i as i64), f(*x)]));
    }
    // json and jsonb: the document itself, or the text when it is not JSON serde_json accepts
    let js = rel(
        16_404,
        "public",
        "docs",
        &[("id", "integer", 23, true), ("doc", "json", 114, false)],
    );
    let mut tx3 = Tx::new(743, 0x16_B375_0000, T0 + 3);
    let mut b3 = Vec::new();
    let deep_ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
    let deep_bad = format!("{}{}", "[".repeat(128), "]".repeat(128));
    let docs: Vec<String> = [
        r#"{"b": 1, "a": [true, false, null, "x"]}"#,
        "3",
        "-7",
        r#""s""#,
        "null",
        "true",
        "[]",
        "{}",
        r#"{"b":1,"a":2,"b":3}"#,
        r#"{"nested": {"deeper": {"deepest": [[1], [2, [3]]]}}}"#,
        "  {\"ws\" :\t[ 1 ,\n2 ]\r}  ",
        "1.0",
        "2.50",
        "-0",
        "-0.0",
        "1e2",
        "1E+2",
        "123.456e-2",
        "0.1e1",
        "12345678901234567890",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "3.14159265358979323846264338327950288",
        "1.7976931348623157e308",
        "4.9e-324",
        "1e-400",
        "-1e-400",
        "100000000000000000000000",
        "0.1234567890123456789",
        "-9007199254740993.0",
        "17976931348623157e292",
        "0e999999999999",
        "1e-99999999999",
        r#""\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\""#,
        r#"{"k\u0000":"\u001f\u007f\u2028"}"#,
        r#"{"ünï":"😀","":""}"#,
        &deep_ok,
        // not accepted: the text as a string
        "{oops",
        "1e999",
        "-1e999",
        "1797693134862315799999e287",
        r#""\ud800""#,
        r#""\udc00""#,
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        ".5",
        "+1",
        "NaN",
        "Infinity",
        "\"a\tb\"",
        "1 2",
        "",
        "\u{c}1",
        "nul",
        r#""\x""#,
        &deep_bad,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (i, d) in docs.iter().enumerate() {
        b3.push(tx3.ins(0, vec![V::Int(i as i64), j(d)]));
    }
    // dates and times, across the calendar and the i64 range
    let dt = rel(
        16_405,
        "public",
        "times",
        &[
            ("id", "integer", 23, true),
            ("tz", "timestamp with time zone", 1184, false),
            ("ts", "timestamp without time zone", 1114, false),
            ("d", "date", 1082, false),
            ("t", "time without time zone", 1083, false),
        ],
    );
    let mut tx4 = Tx::new(744, 0x16_B375_1000, 0);
    let mut b4 = Vec::new();
    let instants: [i64; 12] = [
        0,
        -1,
        1,
        T0,
        951_782_400_000_000,
        -62_135_596_800_000_000,
        -62_167_219_200_000_001,
        253_402_300_799_999_999,
        253_402_300_800_000_000,
        -86_400_000_000 + 3_723_000_004,
        i64::MIN,
        i64::MAX,
    ];
    let days: [i32; 12] = [
        0,
        -1,
        20_781,
        11_016,
        19_782,
        -25_509,
        -25_508,
        -719_162,
        -719_163,
        -719_163 - 366,
        2_932_896,
        2_932_897,
    ];
    let times: [i64; 12] = [
        0,
        1,
        5,
        36_930_123_456,
        86_399_999_999,
        86_400_000_000,
        999_999,
        60_000_000,
        3_600_000_000,
        43_200_000_001,
        -1,
        90_000_000_000,
    ];
    for i in 0..12 {
        b4.push(tx4.ins(
            0,
            vec![
                V::Int(i as i64),
                V::Timestamptz(instants[i]),
                V::Timestamp(instants[11 - i]),
                V::Date(days[i]),
                V::Time(times[i]),
            ],
        ));
    }
    b4.push(tx4.ins(
        0,
        vec![
            V::Int(12),
            V::Null,
            V::Null,
            V::Date(i32::MAX),
            V::Time(i64::MAX),
        ],
    ));
    b4.push(tx4.ins(
        0,
        vec![
            V::Int(13),
            V::Other("infinity".into()),
            V::Other("-infinity".into()),
            V::Other("infinity".into()),
            V::Null,
        ],
    ));
    // bytea: every padding case of base64, every byte value
    let by = rel(
        16_406,
        "public",
        "blobs",
        &[("id", "integer", 23, true), ("b", "bytea", 17, false)],
    );
    let mut tx5 = Tx::new(745, 0x16_B375_2000, T0 + 5);
    let mut b5 = Vec::new();
    for n in 0..7usize {
        b5.push(tx5.ins(
            0,
            vec![
                V::Int(n as i64),
                V::Bytes((0..n as u8).map(|x| 0xfb + x % 5).collect()),
            ],
        ));
    }
    b5.push(tx5.ins(0, vec![V::Int(7), V::Bytes((0..=255).collect())]));
    // arrays: NULL elements, every element kind
    let ar = rel(
        16_407,
        "public",
        "arrays",
        &[("id", "integer", 23, true), ("a", "integer[]", 1007, false)],
    );
    let mut tx6 = Tx::new(746, 0x16_B375_3000, T0 + 6);
    let b6 = vec![
        tx6.ins(
            0,
            vec![
                V::Int(0),
                V::Array(vec![Datum::Int(1), Datum::Null, Datum::Int(-3)]),
            ],
        ),
        tx6.ins(0, vec![V::Int(1), V::Array(vec![Datum::Null])]),
        tx6.ins(0, vec![V::Int(2), V::Array(vec![])]),
        tx6.ins(
            0,
            vec![
                V::Int(3),
                V::Array(vec![
                    Datum::Null,
                    Datum::Int(i64::MIN),
                    Datum::Float(f64::NAN),
                    Datum::Float(-2.5e-7),
                    Datum::Float(f64::NEG_INFINITY),
                    Datum::Boolean(false),
                    Datum::Numeric("1.10".into()),
                    Datum::Text("ü \"q\"".into()),
                    Datum::Bytes(vec![1, 2, 3]),
                    Datum::Json(r#"{"k":[1, 2.0]}"#.into()),
                    Datum::Json("{bad".into()),
                    Datum::Timestamptz(-1),
                    Datum::Timestamp(0),
                    Datum::Date(-1),
                    Datum::Time(1_000_000),
                    Datum::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
                    Datum::Other("(1,2)".into()),
                ]),
            ],
        ),
        tx6.ins(0, vec![V::Int(4), V::Other("{{1,2},{3,4}}".into())]),
        tx6.ins(0, vec![V::Int(5), V::Null]),
    ];
    let every_kind = File {
        batches: vec![
            (Some("one row of every value kind, one of NULLs, one of edge values"), Batch { relations: vec![kinds], changes: std::mem::take(&mut b0) }),
            (Some("numeric keeps its exact digits"), Batch { relations: vec![num], changes: b1 }),
            (Some("double precision: shortest round-trip form; NaN and the infinities as strings"), Batch { relations: vec![flt], changes: b2 }),
            (Some("json/jsonb: the document as serde_json reads it, or its text when serde_json does not accept it"), Batch { relations: vec![js], changes: b3 }),
            (Some("dates and times across the calendar and the range of i64"), Batch { relations: vec![dt], changes: b4 }),
            (Some("bytea as padded standard base64"), Batch { relations: vec![by], changes: b5 }),
            (Some("one-dimensional arrays with NULL elements and every element kind"), Batch { relations: vec![ar], changes: b6 }),
        ],
    };
    std::fs::write(dir.join("every-kind.jsonl"), every_kind.text()).unwrap();

    // ---- toast-and-keys.jsonl
    let docs_rel = rel(
        16_410,
        "public",
        "documents",
        &[
            ("tenant", "integer", 23, true),
            ("id", "bigint", 20, true),
            ("title", "text", 25, false),
            ("body", "text", 25, false),
            ("meta", "jsonb", 3802, false),
            ("blob", "bytea", 17, false),
        ],
    );
    let full = rel(
        16_411,
        "audit",
        "events",
        &[("id", "integer", 23, true), ("payload", "text", 25, false)],
    );
    let big = "x".repeat(3000);
    let mut a = Tx::new(750, 0x1_0000_0000, T0 + 10);
    let mut c1 = vec![
        a.ins(
            0,
            vec![
                V::Int(1),
                V::Int(10),
                t("first"),
                t(&big),
                j(r#"{"v": 1}"#),
                V::Bytes(vec![7; 40]),
            ],
        ),
        a.ins(1, vec![V::Int(1), t("created")]),
    ];
    let mut b = Tx::new(751, 0x1_0000_0100, T0 + 11);
    c1.extend([
        // unchanged TOAST: absent from "new", listed; a real NULL stays null
        b.change(
            Operation::Update,
            0,
            Some(vec![
                V::Int(1),
                V::Int(10),
                V::Null,
                V::UnchangedToast,
                V::UnchangedToast,
                V::Null,
            ]),
            None,
        ),
        // key change: old key only, non-key columns null and absent
        b.change(
            Operation::Update,
            0,
            Some(vec![
                V::Int(1),
                V::Int(11),
                t("renamed"),
                V::UnchangedToast,
                j("{}"),
                V::UnchangedToast,
            ]),
            Some((
                true,
                vec![V::Int(1), V::Int(10), V::Null, V::Null, V::Null, V::Null],
            )),
        ),
        // REPLICA IDENTITY FULL: the whole old row, NULLs included
        b.change(
            Operation::Update,
            1,
            Some(vec![V::Int(1), t("updated")]),
            Some((false, vec![V::Int(1), t("created")])),
        ),
        b.change(
            Operation::Update,
            1,
            Some(vec![V::Int(1), V::Null]),
            Some((false, vec![V::Int(1), t("updated")])),
        ),
    ]);
    let mut c = Tx::new(752, 0x1_0000_0200, T0 + 12);
    c1.extend([
        c.change(
            Operation::Delete,
            0,
            None,
            Some((
                true,
                vec![V::Int(1), V::Int(11), V::Null, V::Null, V::Null, V::Null],
            )),
        ),
        c.change(
            Operation::Delete,
            1,
            None,
            Some((false, vec![V::Int(1), V::Null])),
        ),
        // a delete on a table without replica identity: no old row at all
        c.change(Operation::Delete, 1, None, None),
    ]);
    let mut d = Tx::new(753, 0x1_0000_0300, T0 + 13);
    let c2 = vec![
        d.change(Operation::Truncate, 0, None, None),
        d.change(Operation::Truncate, 1, None, None),
    ];
    let toast = File {
        batches: vec![
            (
                Some("NULL vs unchanged TOAST, key-only and full old rows, deletes"),
                Batch {
                    relations: vec![docs_rel.clone(), full.clone()],
                    changes: c1,
                },
            ),
            (
                Some("TRUNCATE of two tables: one change per table"),
                Batch {
                    relations: vec![docs_rel, full],
                    changes: c2,
                },
            ),
        ],
    };
    std::fs::write(dir.join("toast-and-keys.jsonl"), toast.text()).unwrap();

    // ---- unicode.jsonl
    let u = rel(
        16_420,
        "résumé",
        "表 \"quoted\"",
        &[
            ("id", "integer", 23, true),
            ("名前", "text", 25, false),
            ("emoji 😀", "text", 25, false),
            ("c", "character varying(20)", 1043, false),
        ],
    );
    let mut e = Tx::new(760, 0xFFFF_FFFF_0000_0000, T0 + 20);
    let texts = [
        ("ünïcödé", "😀👍🏽👨‍👩‍👧", "Zürich"),
        ("日本語のテキスト", "🇫🇷", "ελληνικά"),
        (
            "עברית RTL ‏mark",
            "e\u{301} (combining)",
            "\u{200b}zero\u{feff}width",
        ),
        (
            "quote \" backslash \\ slash /",
            "tab\tnewline\ncr\r",
            "ctl \u{1}\u{1f}\u{7f}",
        ),
        ("line\u{2028}sep\u{2029}", "\u{10ffff}", "𝄞 music"),
        ("", " ", "nul-free"),
    ];
    let uc: Vec<Change> = texts
        .iter()
        .enumerate()
        .map(|(i, (a, b, c))| e.ins(0, vec![V::Int(i as i64), t(a), t(b), t(c)]))
        .collect();
    let unicode = File {
        batches: vec![(
            Some("unicode in text, column, schema and table names; escapes"),
            Batch {
                relations: vec![u],
                changes: uc,
            },
        )],
    };
    std::fs::write(dir.join("unicode.jsonl"), unicode.text()).unwrap();

    // ---- batches.jsonl: empty batches around real ones, relations not referenced
    let small = rel(16_430, "public", "small", &[("id", "integer", 23, true)]);
    let unused = rel(16_431, "public", "unused", &[("id", "integer", 23, true)]);
    let mut g = Tx::new(770, 0x2_0000_0000, T0 + 30);
    let x = g.ins(1, vec![V::Int(1)]);
    let y = g.ins(1, vec![V::Int(2)]);
    let batches = File {
        batches: vec![
            (
                Some("an empty batch"),
                Batch {
                    relations: vec![small.clone()],
                    changes: vec![],
                },
            ),
            (
                Some("an empty batch with no relations"),
                Batch {
                    relations: vec![],
                    changes: vec![],
                },
            ),
            (
                Some("a relation no change refers to comes first"),
                Batch {
                    relations: vec![unused, small.clone()],
                    changes: vec![x],
                },
            ),
            (
                None,
                Batch {
                    relations: vec![small.clone()],
                    changes: vec![Change { relation: 0, ..y }],
                },
            ),
            (
                Some("empty again at the end"),
                Batch {
                    relations: vec![],
                    changes: vec![],
                },
            ),
        ],
    };
    std::fs::write(dir.join("batches.jsonl"), batches.text()).unwrap();

    // ---- large.jsonl: one batch of 5000 changes over 50 transactions
    let orders = rel(
        16_440,
        "public",
        "orders",
        &[
            ("id", "bigint", 20, true),
            ("customer", "text", 25, false),
            ("amount", "numeric(12,2)", 1700, false),
            ("status", "text", 25, false),
            ("created", "timestamp with time zone", 1184, false),
        ],
    );
    let mut changes = Vec::new();
    for txn in 0..50u32 {
        let mut tx = Tx::new(
            1000 + txn,
            0x3_0000_0000 + u64::from(txn) * 0x10000,
            T0 + i64::from(txn) * 1_000_000,
        );
        for k in 0..100i64 {
            let id = i64::from(txn) * 100 + k;
            let row = vec![
                V::Int(id),
                t(&format!("customer-{}", id % 97)),
                V::Numeric(format!("{}.{:02}", id * 7 % 10_000, id % 100)),
                t(["new", "paid", "shipped"][(id % 3) as usize]),
                V::Timestamptz(T0 + id * 1_000),
            ];
            changes.push(match k % 10 {
                9 => tx.change(
                    Operation::Delete,
                    0,
                    None,
                    Some((
                        true,
                        vec![V::Int(id - 1), V::Null, V::Null, V::Null, V::Null],
                    )),
                ),
                5 => tx.change(Operation::Update, 0, Some(row), None),
                _ => tx.ins(0, row),
            });
        }
    }
    let large = File {
        batches: vec![(
            Some("5000 changes in one batch (50 transactions of 100)"),
            Batch {
                relations: vec![orders],
                changes,
            },
        )],
    };
    std::fs::write(dir.join("large.jsonl"), large.text()).unwrap();
}
