//! Batches → lines of an event file (the format is described in `record/mod.rs`).

use std::fmt::Write as _;

use super::qualified;
use crate::event::Lsn;
use crate::event::{Batch, Change, Datum, Operation, Value};
use conduit_timefmt as timefmt;

/// Appends the lines of one batch (its batch line, then one line per change, each ending in
/// `\n`) to `out`. `index` is written as the batch line's `"batch"` number.
pub fn batch_lines(batch: &Batch, index: u64, out: &mut String) {
    let _ = write!(out, "{{\"batch\":{index},\"relations\":[");
    for (i, rel) in batch.relations.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"oid\":{},\"schema\":", rel.oid);
        push_str(out, &rel.schema);
        out.push_str(",\"name\":");
        push_str(out, &rel.name);
        out.push_str(",\"columns\":[");
        for (j, col) in rel.columns.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            push_str(out, &col.name);
            out.push_str(",\"type\":");
            push_str(out, &col.type_name);
            let _ = write!(out, ",\"oid\":{},\"key\":{}}}", col.type_oid, col.key);
        }
        out.push_str("]}");
    }
    out.push_str("]}\n");
    for change in &batch.changes {
        change_line(batch, change, out);
    }
}

fn change_line(batch: &Batch, c: &Change, out: &mut String) {
    let _ = write!(out, "{{\"op\":\"{}\",\"rel\":{}", op_name(c.op), c.relation);
    if let Some(rel) = batch.relations.get(c.relation as usize) {
        out.push_str(",\"table\":");
        push_str(out, &qualified(rel));
    }
    let _ = write!(
        out,
        ",\"xid\":{},\"commit_lsn\":\"{}\",\"end_lsn\":\"{}\",\"commit_time\":\"{}\",\"seq\":{}",
        c.xid,
        Lsn(c.commit_lsn),
        Lsn(c.end_lsn),
        timefmt::timestamptz(c.commit_time),
        c.seq
    );
    if let Some(new) = &c.new {
        out.push_str(",\"new\":");
        push_row(out, new);
    }
    if let Some(old) = &c.old {
        let _ = write!(out, ",\"old\":{{\"key_only\":{},\"values\":", old.key_only);
        push_row(out, &old.values);
        out.push('}');
    }
    out.push_str("}\n");
}

fn push_row(out: &mut String, values: &[Value]) {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_value(out, v);
    }
    out.push(']');
}

fn push_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::UnchangedToast => out.push_str("\"unchanged-toast\""),
        Value::Int(i) => push_kind_raw(out, "int", &i.to_string()),
        Value::Float(f) => push_kind(out, "float", &float_text(*f)),
        Value::Boolean(b) => push_kind_raw(out, "boolean", if *b { "true" } else { "false" }),
        Value::Numeric(s) => push_kind(out, "numeric", s),
        Value::Text(s) => push_kind(out, "text", s),
        Value::Bytes(b) => push_kind(out, "bytes", &hex::encode(b)),
        Value::Json(s) => push_kind(out, "json", s),
        Value::Timestamptz(us) => push_kind(out, "timestamptz", &timefmt::timestamptz(*us)),
        Value::Timestamp(us) => push_kind(out, "timestamp", &timefmt::timestamp(*us)),
        Value::Date(d) => push_kind(out, "date", &timefmt::date(*d)),
        Value::Time(us) => push_kind(out, "time", &timefmt::time(*us)),
        Value::Uuid(s) => push_kind(out, "uuid", s),
        Value::Other(s) => push_kind(out, "other", s),
        Value::Array(items) => {
            out.push_str("{\"array\":[");
            for (i, d) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_datum(out, d);
            }
            out.push_str("]}");
        }
    }
}

fn push_datum(out: &mut String, d: &Datum) {
    match d {
        Datum::Null => out.push_str("null"),
        Datum::Int(i) => push_kind_raw(out, "int", &i.to_string()),
        Datum::Float(f) => push_kind(out, "float", &float_text(*f)),
        Datum::Boolean(b) => push_kind_raw(out, "boolean", if *b { "true" } else { "false" }),
        Datum::Numeric(s) => push_kind(out, "numeric", s),
        Datum::Text(s) => push_kind(out, "text", s),
        Datum::Bytes(b) => push_kind(out, "bytes", &hex::encode(b)),
        Datum::Json(s) => push_kind(out, "json", s),
        Datum::Timestamptz(us) => push_kind(out, "timestamptz", &timefmt::timestamptz(*us)),
        Datum::Timestamp(us) => push_kind(out, "timestamp", &timefmt::timestamp(*us)),
        Datum::Date(d) => push_kind(out, "date", &timefmt::date(*d)),
        Datum::Time(us) => push_kind(out, "time", &timefmt::time(*us)),
        Datum::Uuid(s) => push_kind(out, "uuid", s),
        Datum::Other(s) => push_kind(out, "other", s),
    }
}

fn push_kind(out: &mut String, kind: &str, text: &str) {
    let _ = write!(out, "{{\"{kind}\":");
    push_str(out, text);
    out.push('}');
}

fn push_kind_raw(out: &mut String, kind: &str, raw: &str) {
    let _ = write!(out, "{{\"{kind}\":{raw}}}");
}

/// A JSON string literal; non-ASCII text stays as it is (readable), control characters are
/// escaped as serde_json escapes them.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The shortest decimal that reads back as the same f64; PostgreSQL's spellings of NaN and the
/// infinities.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "Infinity".into()
    } else if f == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        // Debug is Rust's shortest round-trip form ("1.5", "1e300", "-0.0").
        format!("{f:?}")
    }
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Insert => "insert",
        Operation::Update => "update",
        Operation::Delete => "delete",
        Operation::Truncate => "truncate",
        Operation::Read => "read",
    }
}
