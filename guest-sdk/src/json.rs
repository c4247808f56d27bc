//! Values as `serde_json::Value`s ([`Value::to_json`]), for sinks that build JSON of their own.
//! The line format itself is written by `line.rs`, which keeps `json`/`jsonb` text exact; every
//! other value is printed from here.

use crate::{format, Datum, Value};
use base64::Engine as _;
use serde_json::Value as Json;

pub(crate) fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null | Value::UnchangedToast => Json::Null,
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => float(*f),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Numeric(s) | Value::Text(s) | Value::Uuid(s) | Value::Other(s) => {
            Json::String(s.clone())
        }
        Value::Bytes(b) => bytes(b),
        Value::Json(s) => json_text(s),
        Value::Timestamptz(us) => Json::String(format::timestamptz(*us)),
        Value::Timestamp(us) => Json::String(format::timestamp(*us)),
        Value::Date(days) => Json::String(format::date(*days)),
        Value::Time(us) => Json::String(format::time(*us)),
        Value::Array(items) => Json::Array(items.iter().map(datum_to_json).collect()),
    }
}

pub(crate) fn datum_to_json(datum: &Datum) -> Json {
    match datum {
        Datum::Null => Json::Null,
        Datum::Int(i) => Json::from(*i),
        Datum::Float(f) => float(*f),
        Datum::Boolean(b) => Json::Bool(*b),
        Datum::Numeric(s) | Datum::Text(s) | Datum::Uuid(s) | Datum::Other(s) => {
            Json::String(s.clone())
        }
        Datum::Bytes(b) => bytes(b),
        Datum::Json(s) => json_text(s),
        Datum::Timestamptz(us) => Json::String(format::timestamptz(*us)),
        Datum::Timestamp(us) => Json::String(format::timestamp(*us)),
        Datum::Date(days) => Json::String(format::date(*days)),
        Datum::Time(us) => Json::String(format::time(*us)),
    }
}

/// Finite floats are numbers; NaN and the infinities, which JSON cannot express, are the strings
/// PostgreSQL prints for them.
fn float(f: f64) -> Json {
    match serde_json::Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None if f.is_nan() => Json::String("NaN".into()),
        None if f > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

fn bytes(b: &[u8]) -> Json {
    Json::String(base64::engine::general_purpose::STANDARD.encode(b))
}

/// The document as serde_json reads it (duplicate keys keep the last, numbers go through an
/// f64); the text as a string if it does not parse (e.g. a number too large for an f64). The
/// line format does not use this: see `line.rs`.
fn json_text(s: &str) -> Json {
    serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use crate::{Batch, Change, Column, Datum, OldRow, Operation, Relation, Value};

    fn col(name: &str, type_name: &str, key: bool) -> Column {
        Column {
            name: name.into(),
            type_name: type_name.into(),
            type_oid: 0,
            key,
        }
    }

    fn change(op: Operation, new: Option<Vec<Value>>, old: Option<OldRow>) -> Change {
        Change {
            op,
            relation: 0,
            new,
            old,
            xid: 740,
            commit_lsn: 0x16_B374_D848,
            end_lsn: 0x16_B374_D878,
            commit_time: 1_795_515_330_123_456,
            seq: 3,
        }
    }

    fn batch(columns: Vec<Column>, changes: Vec<Change>) -> Batch {
        Batch {
            relations: vec![Relation {
                oid: 16_384,
                schema: "public".into(),
                name: "orders".into(),
                columns,
            }],
            changes,
        }
    }

    fn line(batch: &Batch) -> String {
        let view = batch.changes().next().unwrap();
        serde_json::to_string(&view.to_json()).unwrap()
    }

    /// The JSON of a single-column insert with `value`.
    fn value_json(value: Value) -> String {
        serde_json::to_string(&value.to_json()).unwrap()
    }

    const HEADER: &str = r#""schema":"public","table":"orders","xid":740,"commit_lsn":"16/B374D848","end_lsn":"16/B374D878","commit_time":"2026-11-24T10:15:30.123456Z","seq":3"#;

    #[test]
    fn read_line_is_an_insert_line_with_op_read() {
        let b = batch(
            vec![col("id", "integer", true)],
            vec![change(Operation::Read, Some(vec![Value::Int(7)]), None)],
        );
        assert_eq!(
            line(&b),
            format!(r#"{{"op":"read",{HEADER},"new":{{"id":7}},"old":null,"unchanged_toast":[]}}"#)
        );
    }

    #[test]
    fn insert_line_has_keys_in_order() {
        let b = batch(
            vec![col("id", "integer", true), col("note", "text", false)],
            vec![change(
                Operation::Insert,
                Some(vec![Value::Int(7), Value::Text("hi \"you\"".into())]),
                None,
            )],
        );
        assert_eq!(
            line(&b),
            format!(
                r#"{{"op":"insert",{HEADER},"new":{{"id":7,"note":"hi \"you\""}},"old":null,"unchanged_toast":[]}}"#
            )
        );
        assert_eq!(b.to_json_lines(), format!("{}\n", line(&b)));
    }

    #[test]
    fn scalar_values() {
        assert_eq!(value_json(Value::Null), "null");
        assert_eq!(value_json(Value::Int(-42)), "-42");
        assert_eq!(value_json(Value::Int(i64::MAX)), "9223372036854775807");
        assert_eq!(value_json(Value::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(value_json(Value::Float(1.5)), "1.5");
        assert_eq!(value_json(Value::Float(-0.25)), "-0.25");
        assert_eq!(value_json(Value::Float(1e300)), "1e+300");
        assert_eq!(value_json(Value::Float(f64::NAN)), r#""NaN""#);
        assert_eq!(value_json(Value::Float(f64::INFINITY)), r#""Infinity""#);
        assert_eq!(
            value_json(Value::Float(f64::NEG_INFINITY)),
            r#""-Infinity""#
        );
        assert_eq!(
            value_json(Value::Numeric("12345.6700".into())),
            r#""12345.6700""#
        );
        assert_eq!(value_json(Value::Numeric("NaN".into())), r#""NaN""#);
        assert_eq!(value_json(Value::Boolean(true)), "true");
        assert_eq!(value_json(Value::Boolean(false)), "false");
        assert_eq!(value_json(Value::Text("ünï\n\"".into())), r#""ünï\n\"""#);
        assert_eq!(
            value_json(Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())),
            r#""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#
        );
        assert_eq!(
            value_json(Value::Other("1 day 02:00:00".into())),
            r#""1 day 02:00:00""#
        );
        assert_eq!(value_json(Value::Other("infinity".into())), r#""infinity""#);
    }

    #[test]
    fn bytes_are_padded_standard_base64() {
        assert_eq!(value_json(Value::Bytes(vec![])), r#""""#);
        assert_eq!(value_json(Value::Bytes(vec![0xff])), r#""/w==""#);
        assert_eq!(value_json(Value::Bytes(vec![0xfb, 0xff])), r#""+/8=""#);
        assert_eq!(value_json(Value::Bytes(b"abc".to_vec())), r#""YWJj""#);
    }

    #[test]
    fn json_values_are_embedded() {
        assert_eq!(
            value_json(Value::Json(r#"{"b": 1, "a": [true, null, "x"]}"#.into())),
            r#"{"b":1,"a":[true,null,"x"]}"#
        );
        assert_eq!(value_json(Value::Json("3".into())), "3");
        assert_eq!(value_json(Value::Json(r#""s""#.into())), r#""s""#);
        assert_eq!(value_json(Value::Json("null".into())), "null");
        // Not JSON (or not representable): the text as a string.
        assert_eq!(value_json(Value::Json("{oops".into())), r#""{oops""#);
        assert_eq!(value_json(Value::Json("1e999".into())), r#""1e999""#);
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(
            value_json(Value::Timestamptz(1_795_515_330_123_456)),
            r#""2026-11-24T10:15:30.123456Z""#
        );
        assert_eq!(
            value_json(Value::Timestamp(1_795_515_330_123_456)),
            r#""2026-11-24T10:15:30.123456""#
        );
        assert_eq!(
            value_json(Value::Timestamp(1_795_515_330_000_000)),
            r#""2026-11-24T10:15:30.000000""#
        );
        assert_eq!(
            value_json(Value::Timestamptz(-1)),
            r#""1969-12-31T23:59:59.999999Z""#
        );
        assert_eq!(value_json(Value::Date(20_781)), r#""2026-11-24""#);
        assert_eq!(value_json(Value::Date(0)), r#""1970-01-01""#);
        assert_eq!(value_json(Value::Date(-1)), r#""1969-12-31""#);
        // Leap days: 2000 (divisible by 400) and 2024 have one; 1900 does not.
        assert_eq!(value_json(Value::Date(11_016)), r#""2000-02-29""#);
        assert_eq!(value_json(Value::Date(19_782)), r#""2024-02-29""#);
        assert_eq!(value_json(Value::Date(-25_509)), r#""1900-02-28""#);
        assert_eq!(value_json(Value::Date(-25_508)), r#""1900-03-01""#);
        assert_eq!(value_json(Value::Date(-719_162)), r#""0001-01-01""#);
        assert_eq!(value_json(Value::Date(2_932_896)), r#""9999-12-31""#);
        assert_eq!(
            value_json(Value::Time(36_930_123_456)),
            r#""10:15:30.123456""#
        );
        assert_eq!(value_json(Value::Time(5)), r#""00:00:00.000005""#);
    }

    #[test]
    fn arrays_map_their_elements() {
        let array = Value::Array(vec![
            Datum::Int(1),
            Datum::Null,
            Datum::Float(f64::NAN),
            Datum::Float(2.5),
            Datum::Boolean(true),
            Datum::Numeric("1.10".into()),
            Datum::Text("t".into()),
            Datum::Bytes(vec![1, 2, 3]),
            Datum::Json(r#"{"k":[1]}"#.into()),
            Datum::Timestamptz(0),
            Datum::Timestamp(-1),
            Datum::Date(-1),
            Datum::Time(1_000_000),
            Datum::Uuid("u".into()),
            Datum::Other("(1,2)".into()),
        ]);
        assert_eq!(
            value_json(array),
            r#"[1,null,"NaN",2.5,true,"1.10","t","AQID",{"k":[1]},"1970-01-01T00:00:00.000000Z","1969-12-31T23:59:59.999999","1969-12-31","00:00:01.000000","u","(1,2)"]"#
        );
        assert_eq!(value_json(Value::Array(vec![])), "[]");
    }

    #[test]
    fn unchanged_toast_is_absent_and_listed() {
        let b = batch(
            vec![
                col("id", "integer", true),
                col("body", "text", false),
                col("n", "integer", false),
                col("blob", "bytea", false),
            ],
            vec![change(
                Operation::Update,
                Some(vec![
                    Value::Int(1),
                    Value::UnchangedToast,
                    Value::Null,
                    Value::UnchangedToast,
                ]),
                None,
            )],
        );
        assert_eq!(
            line(&b),
            format!(
                r#"{{"op":"update",{HEADER},"new":{{"id":1,"n":null}},"old":null,"unchanged_toast":["body","blob"]}}"#
            )
        );
        let view = b.changes().next().unwrap();
        assert_eq!(view.new_value("body"), Some(&Value::UnchangedToast));
        assert_eq!(view.new_value("n"), Some(&Value::Null));
        assert_eq!(view.new_value("missing"), None);
    }

    #[test]
    fn key_only_old_has_only_key_columns() {
        let b = batch(
            vec![
                col("tenant", "integer", true),
                col("name", "text", false),
                col("id", "bigint", true),
            ],
            vec![change(
                Operation::Update,
                Some(vec![Value::Int(1), Value::Text("x".into()), Value::Int(2)]),
                Some(OldRow {
                    key_only: true,
                    values: vec![Value::Int(1), Value::Null, Value::Int(9)],
                }),
            )],
        );
        assert_eq!(
            line(&b),
            format!(
                r#"{{"op":"update",{HEADER},"new":{{"tenant":1,"name":"x","id":2}},"old":{{"tenant":1,"id":9}},"unchanged_toast":[]}}"#
            )
        );
        let view = b.changes().next().unwrap();
        assert!(view.old_is_key_only());
        assert_eq!(view.old_value("id"), Some(&Value::Int(9)));
        assert_eq!(view.old_value("name"), None);
        let key: Vec<_> = view
            .key_values()
            .map(|(c, v)| (c.name.as_str(), v))
            .collect();
        assert_eq!(key, [("tenant", &Value::Int(1)), ("id", &Value::Int(2))]);
    }

    #[test]
    fn delete_with_full_old_row() {
        let b = batch(
            vec![col("id", "integer", true), col("name", "text", false)],
            vec![change(
                Operation::Delete,
                None,
                Some(OldRow {
                    key_only: false,
                    values: vec![Value::Int(5), Value::Text("gone".into())],
                }),
            )],
        );
        assert_eq!(
            line(&b),
            format!(
                r#"{{"op":"delete",{HEADER},"new":null,"old":{{"id":5,"name":"gone"}},"unchanged_toast":[]}}"#
            )
        );
        let view = b.changes().next().unwrap();
        assert_eq!(view.old_value("name"), Some(&Value::Text("gone".into())));
        let key: Vec<_> = view
            .key_values()
            .map(|(c, v)| (c.name.as_str(), v))
            .collect();
        assert_eq!(key, [("id", &Value::Int(5))]);
    }

    #[test]
    fn truncate_has_no_rows() {
        let b = batch(
            vec![col("id", "integer", true)],
            vec![change(Operation::Truncate, None, None)],
        );
        assert_eq!(
            line(&b),
            format!(r#"{{"op":"truncate",{HEADER},"new":null,"old":null,"unchanged_toast":[]}}"#)
        );
    }

    #[test]
    fn positions_and_lsn_edges() {
        let mut c = change(Operation::Insert, Some(vec![Value::Int(1)]), None);
        c.commit_lsn = 0;
        c.end_lsn = 0x1_0000_0000;
        c.commit_time = 0;
        c.seq = 0;
        c.xid = u32::MAX;
        let b = batch(vec![col("id", "integer", true)], vec![c]);
        assert_eq!(
            line(&b),
            r#"{"op":"insert","schema":"public","table":"orders","xid":4294967295,"commit_lsn":"0/0","end_lsn":"1/0","commit_time":"1970-01-01T00:00:00.000000Z","seq":0,"new":{"id":1},"old":null,"unchanged_toast":[]}"#
        );
        let view = b.change(0).unwrap();
        assert_eq!(view.position(), (0, 0));
        assert_eq!(view.qualified_table(), "public.orders");
        assert_eq!(b.last_position(), Some((0, 0)));
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn every_line_of_a_batch() {
        let b = Batch {
            relations: vec![
                Relation {
                    oid: 1,
                    schema: "a".into(),
                    name: "x".into(),
                    columns: vec![col("id", "integer", true)],
                },
                Relation {
                    oid: 2,
                    schema: "b".into(),
                    name: "y".into(),
                    columns: vec![col("k", "text", true)],
                },
            ],
            changes: vec![
                Change {
                    relation: 1,
                    ..change(Operation::Insert, Some(vec![Value::Text("v".into())]), None)
                },
                Change {
                    seq: 4,
                    ..change(Operation::Insert, Some(vec![Value::Int(2)]), None)
                },
            ],
        };
        let tables: Vec<_> = b.changes().map(|c| c.qualified_table()).collect();
        assert_eq!(tables, ["b.y", "a.x"]);
        let lines = b.to_json_lines();
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains(r#""schema":"b","table":"y""#));
        assert!(lines[0].ends_with(r#""new":{"k":"v"},"old":null,"unchanged_toast":[]}"#));
        assert!(lines[1].contains(r#""seq":4,"new":{"id":2}"#));
    }
}
