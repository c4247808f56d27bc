//! Unit tests of the configuration, the plans and the reshaped lines.

use super::*;
use conduit_sink_sdk::{Change, Column, Datum, OldRow};

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().copied().collect()
}

fn spec(pairs: &[(&str, &str)]) -> Spec {
    Spec::from_config(&config(pairs)).unwrap()
}

fn error(pairs: &[(&str, &str)]) -> SinkError {
    let err = Spec::from_config(&config(pairs)).unwrap_err();
    assert!(!err.retryable, "config errors are not retryable");
    err
}

fn col(name: &str, key: bool) -> Column {
    Column {
        name: name.into(),
        type_name: "text".into(),
        type_oid: 25,
        key,
    }
}

fn relation(schema: &str, name: &str) -> Relation {
    Relation {
        oid: 1,
        schema: schema.into(),
        name: name.into(),
        columns: vec![
            col("id", true),
            col("status", false),
            col("total", false),
            col("note", false),
        ],
    }
}

fn change(relation: u32, op: Operation, new: Option<Vec<Value>>, old: Option<OldRow>) -> Change {
    Change {
        op,
        relation,
        new,
        old,
        xid: 1,
        commit_lsn: 100,
        end_lsn: 200,
        commit_time: 0,
        seq: 0,
    }
}

fn row(id: i64, status: &str, total: &str, note: Value) -> Vec<Value> {
    vec![
        Value::Int(id),
        Value::Text(status.into()),
        Value::Numeric(total.into()),
        note,
    ]
}

/// Two tables; `public.orders` gets an insert, an update with an unchanged TOAST column, a
/// delete with a key-only old row and a truncate; `audit.orders` an insert.
fn sample() -> Batch {
    Batch {
        relations: vec![relation("public", "orders"), relation("audit", "orders")],
        changes: vec![
            change(
                0,
                Operation::Insert,
                Some(row(1, "new", "9.50", Value::Null)),
                None,
            ),
            change(
                1,
                Operation::Insert,
                Some(row(2, "new", "1", Value::Text("a".into()))),
                None,
            ),
            change(
                0,
                Operation::Update,
                Some(row(1, "shipped", "9.50", Value::UnchangedToast)),
                None,
            ),
            change(
                0,
                Operation::Delete,
                None,
                Some(OldRow {
                    key_only: true,
                    values: vec![Value::Int(1), Value::Null, Value::Null, Value::Null],
                }),
            ),
            change(0, Operation::Truncate, None, None),
        ],
    }
}

fn lines(spec: &Spec, batch: &Batch) -> Vec<String> {
    let mut out = Vec::new();
    let n = spec.write_batch(batch, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(lines.len(), n);
    lines
}

#[test]
fn parses_config() {
    assert_eq!(
        spec(&[
            ("table", "public.orders"),
            ("where", "status=a=b"),
            ("fields", " id, total ,,"),
            ("rename", "id:order_id, total:amount"),
        ]),
        Spec {
            schema: Some("public".into()),
            table: "orders".into(),
            filter: Some(("status".into(), "a=b".into())),
            fields: Some(vec!["id".into(), "total".into()]),
            rename: vec![
                ("id".into(), "order_id".into()),
                ("total".into(), "amount".into())
            ],
        }
    );
    assert_eq!(
        spec(&[("table", "orders")]),
        Spec {
            schema: None,
            table: "orders".into(),
            filter: None,
            fields: None,
            rename: vec![],
        }
    );
}

#[test]
fn rejects_bad_config() {
    assert_eq!(
        error(&[]).message,
        "missing sink config `table`: pass --sink-config table=<value>"
    );
    assert!(error(&[("table", ".orders")])
        .message
        .contains("schema.table"));
    let e = error(&[("table", "t"), ("rename", "id:order_id,total")]);
    assert!(
        e.message.contains("`rename` entry `total`"),
        "{}",
        e.message
    );
    assert!(e.message.contains("old:new"));
    assert!(error(&[("table", "t"), ("rename", "id:")])
        .message
        .contains("`rename`"));
    assert!(error(&[("table", "t"), ("where", "status")])
        .message
        .contains("`where=status` is invalid"));
    assert!(error(&[("table", "t"), ("fields", " , ")])
        .message
        .contains("`fields` lists no columns"));
    assert!(error(&[("table", "t"), ("feilds", "id")])
        .message
        .starts_with("unknown sink config `feilds`"));
}

#[test]
fn passes_one_table_whole() {
    let out = lines(&spec(&[("table", "public.orders")]), &sample());
    assert_eq!(
        out,
        [
            r#"{"op":"insert","table":"public.orders","key":{"id":1},"row":{"id":1,"status":"new","total":"9.50","note":null}}"#,
            r#"{"op":"update","table":"public.orders","key":{"id":1},"row":{"id":1,"status":"shipped","total":"9.50"}}"#,
            r#"{"op":"delete","table":"public.orders","key":{"id":1},"row":null}"#,
            r#"{"op":"truncate","table":"public.orders","key":null,"row":null}"#,
        ]
    );
}

#[test]
fn table_without_schema_matches_every_schema() {
    let out = lines(&spec(&[("table", "orders")]), &sample());
    assert_eq!(out.len(), 5);
    assert!(out[1].contains(r#""table":"audit.orders""#));
    assert!(lines(&spec(&[("table", "public.other")]), &sample()).is_empty());
}

#[test]
fn filters_projects_and_renames() {
    let s = spec(&[
        ("table", "public.orders"),
        ("where", "status=shipped"),
        ("fields", "total,id"),
        ("rename", "id:order_id,total:amount"),
    ]);
    assert_eq!(
        lines(&s, &sample()),
        [
            r#"{"op":"update","table":"public.orders","key":{"order_id":1},"row":{"amount":"9.50","order_id":1}}"#,
            r#"{"op":"truncate","table":"public.orders","key":null,"row":null}"#,
        ]
    );
}

#[test]
fn delete_is_filtered_on_the_old_row() {
    let by_key = spec(&[("table", "public.orders"), ("where", "id=1")]);
    let out = lines(&by_key, &sample());
    assert_eq!(out.len(), 4, "{out:?}");
    assert!(out[2].starts_with(r#"{"op":"delete""#));
    // The key-only old row has no `status`, so a delete cannot match on it.
    let by_status = spec(&[("table", "public.orders"), ("where", "status=new")]);
    let out = lines(&by_status, &sample());
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out[0].starts_with(r#"{"op":"insert""#));
    assert!(out[1].starts_with(r#"{"op":"truncate""#));
}

#[test]
fn unknown_columns_are_fatal_at_publish() {
    for pairs in [
        [("table", "public.orders"), ("fields", "id,totl")],
        [("table", "public.orders"), ("where", "totl=1")],
        [("table", "public.orders"), ("rename", "totl:x")],
    ] {
        let err = spec(&pairs)
            .write_batch(&sample(), &mut Vec::new())
            .unwrap_err();
        assert!(!err.retryable);
        assert!(err.message.contains("column `totl`"), "{}", err.message);
        assert!(err.message.contains("id, status, total, note"));
    }
    let err = spec(&[("table", "public.orders"), ("rename", "status:id")])
        .write_batch(&sample(), &mut Vec::new())
        .unwrap_err();
    assert!(err.message.contains("output name `id`"), "{}", err.message);
}

#[test]
fn where_compares_by_type() {
    assert!(equals(&Value::Int(42), "42"));
    assert!(equals(&Value::Int(-4), " -4 "));
    assert!(!equals(&Value::Int(42), "42.0"));
    assert!(equals(&Value::Float(1.5), "1.5"));
    assert!(equals(&Value::Float(f64::NAN), "NaN"));
    assert!(equals(&Value::Float(f64::NEG_INFINITY), "-Infinity"));
    assert!(equals(&Value::Boolean(true), "t"));
    assert!(equals(&Value::Boolean(true), "TRUE"));
    assert!(equals(&Value::Boolean(false), "off"));
    assert!(!equals(&Value::Boolean(false), "true"));
    assert!(equals(&Value::Text("a b".into()), "a b"));
    assert!(!equals(&Value::Text("a b".into()), "a"));
    assert!(equals(&Value::Numeric("9.50".into()), "9.50"));
    assert!(!equals(&Value::Numeric("9.50".into()), "9.5"));
    assert!(equals(&Value::Bytes(vec![0xde, 0xad]), "\\xDEAD"));
    assert!(equals(&Value::Date(0), "1970-01-01"));
    assert!(equals(
        &Value::Timestamptz(0),
        "1970-01-01T00:00:00.000000Z"
    ));
    assert!(equals(
        &Value::Array(vec![Datum::Int(1), Datum::Null]),
        "[1,null]"
    ));
    assert!(!equals(&Value::Null, ""));
    assert!(!equals(&Value::Null, "null"));
    assert!(!equals(&Value::UnchangedToast, ""));
}

#[test]
fn unchanged_toast_filter_column_falls_back_to_full_old_row() {
    let batch = Batch {
        relations: vec![relation("public", "orders")],
        changes: vec![change(
            0,
            Operation::Update,
            Some(vec![
                Value::Int(3),
                Value::Text("x".into()),
                Value::Numeric("1".into()),
                Value::UnchangedToast,
            ]),
            Some(OldRow {
                key_only: false,
                values: row(3, "x", "1", Value::Text("long".into())),
            }),
        )],
    };
    let s = spec(&[("table", "public.orders"), ("where", "note=long")]);
    assert_eq!(
        lines(&s, &batch),
        [
            r#"{"op":"update","table":"public.orders","key":{"id":3},"row":{"id":3,"status":"x","total":"1"}}"#
        ]
    );
}

#[test]
fn snapshot_reads_are_filtered_like_inserts_and_keep_their_op() {
    let batch = Batch {
        relations: vec![relation("public", "orders")],
        changes: vec![
            change(
                0,
                Operation::Read,
                Some(row(1, "new", "9.50", Value::Null)),
                None,
            ),
            change(
                0,
                Operation::Read,
                Some(row(2, "shipped", "1.00", Value::Null)),
                None,
            ),
        ],
    };
    let s = spec(&[
        ("table", "public.orders"),
        ("where", "status=new"),
        ("fields", "id"),
    ]);
    assert_eq!(
        lines(&s, &batch),
        [r#"{"op":"read","table":"public.orders","key":{"id":1},"row":{"id":1}}"#]
    );
}
