//! The JSON object on one line of an event file → the header check, a batch line's relations, a
//! change and its values, each with a one-line message saying what is wrong (the format is
//! described in `record/mod.rs`).

use serde_json::{Map, Value as Json};

use super::{qualified, FORMAT_NAME, FORMAT_VERSION};
use crate::event::Lsn;
use crate::event::{Batch, Change, Column, Datum, OldRow, Operation, Relation, Value};
use conduit_timefmt as timefmt;

type Fields<'a> = &'a Map<String, Json>;

fn check_keys(map: Fields, allowed: &[&str], what: &str) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown key {k:?} in {what} (allowed: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

pub(super) fn check_header(map: Fields) -> Result<(), String> {
    check_keys(map, &["format", "version"], "the header")?;
    if map.get("format").and_then(Json::as_str) != Some(FORMAT_NAME) {
        return Err(format!(
            "not a conduit-wasm events file: \"format\" must be {FORMAT_NAME:?}"
        ));
    }
    match map.get("version").and_then(Json::as_u64) {
        Some(FORMAT_VERSION) => Ok(()),
        Some(v) => Err(format!(
            "events format version {v}, but this conduit-wasm reads version {FORMAT_VERSION}: \
             use a conduit-wasm as new as the one that recorded the file"
        )),
        None => Err("\"version\" must be a number".into()),
    }
}

fn get<'a>(map: Fields<'a>, key: &str) -> Result<&'a Json, String> {
    map.get(key).ok_or_else(|| format!("missing \"{key}\""))
}

fn get_str<'a>(map: Fields<'a>, key: &str) -> Result<&'a str, String> {
    get(map, key)?
        .as_str()
        .ok_or_else(|| format!("\"{key}\" must be a string"))
}

fn get_u32(map: Fields, key: &str) -> Result<u32, String> {
    get(map, key)?
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("\"{key}\" must be an integer from 0 to 4294967295"))
}

pub(super) fn parse_batch_line(map: Fields) -> Result<Vec<Relation>, String> {
    check_keys(map, &["batch", "relations", "note"], "a batch line")?;
    if !get(map, "batch")?.is_u64() {
        return Err("\"batch\" must be a non-negative integer".into());
    }
    let rels = get(map, "relations")?
        .as_array()
        .ok_or("\"relations\" must be an array")?;
    rels.iter()
        .enumerate()
        .map(|(i, r)| parse_relation(r).map_err(|m| format!("relation {i}: {m}")))
        .collect()
}

fn parse_relation(json: &Json) -> Result<Relation, String> {
    let map = json.as_object().ok_or("not an object")?;
    check_keys(map, &["oid", "schema", "name", "columns"], "a relation")?;
    let columns = get(map, "columns")?
        .as_array()
        .ok_or("\"columns\" must be an array")?
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let col = c
                .as_object()
                .ok_or_else(|| format!("column {i} is not an object"))?;
            check_keys(col, &["name", "type", "oid", "key"], "a column")
                .map_err(|m| format!("column {i}: {m}"))?;
            let key = get(col, "key")
                .and_then(|k| {
                    k.as_bool()
                        .ok_or_else(|| "\"key\" must be true or false".into())
                })
                .map_err(|m| format!("column {i}: {m}"))?;
            Ok(Column {
                name: get_str(col, "name")
                    .map_err(|m| format!("column {i}: {m}"))?
                    .to_string(),
                type_name: get_str(col, "type")
                    .map_err(|m| format!("column {i}: {m}"))?
                    .to_string(),
                type_oid: get_u32(col, "oid").map_err(|m| format!("column {i}: {m}"))?,
                key,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Relation {
        oid: get_u32(map, "oid")?,
        schema: get_str(map, "schema")?.to_string(),
        name: get_str(map, "name")?.to_string(),
        columns,
    })
}

fn parse_lsn(map: Fields, key: &str) -> Result<u64, String> {
    match get(map, key)? {
        Json::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("\"{key}\" must be a non-negative integer or \"X/X\"")),
        Json::String(s) => s
            .parse::<Lsn>()
            .map(|lsn| lsn.0)
            .map_err(|_| format!("\"{key}\" {s:?} is not an LSN like \"16/B374D848\"")),
        _ => Err(format!("\"{key}\" must be \"X/X\" or an integer")),
    }
}

pub(super) fn parse_change(batch: &Batch, map: Fields) -> Result<Change, String> {
    check_keys(
        map,
        &[
            "op",
            "rel",
            "table",
            "xid",
            "commit_lsn",
            "end_lsn",
            "commit_time",
            "seq",
            "new",
            "old",
        ],
        "a change line",
    )?;
    let op = match get_str(map, "op")? {
        "insert" => Operation::Insert,
        "update" => Operation::Update,
        "delete" => Operation::Delete,
        "truncate" => Operation::Truncate,
        "read" => Operation::Read,
        other => {
            return Err(format!(
                "\"op\" {other:?} is not insert, update, delete, truncate or read"
            ))
        }
    };
    let relation = get_u32(map, "rel")?;
    let rel = batch.relations.get(relation as usize).ok_or_else(|| {
        format!(
            "\"rel\" {relation} but this batch has {} relation(s)",
            batch.relations.len()
        )
    })?;
    if let Some(table) = map.get("table") {
        let expected = qualified(rel);
        if table.as_str() != Some(expected.as_str()) {
            return Err(format!(
                "\"table\" is {table} but relation {relation} is {expected:?}"
            ));
        }
    }
    let commit_time = match get(map, "commit_time")? {
        Json::String(s) => {
            timefmt::parse_timestamptz(s).map_err(|m| format!("commit_time: {m}"))?
        }
        Json::Number(n) => n
            .as_i64()
            .ok_or("\"commit_time\" must be an RFC 3339 UTC time or microseconds")?,
        _ => return Err("\"commit_time\" must be an RFC 3339 UTC time or microseconds".into()),
    };
    let row = |key: &str, json: &Json| -> Result<Vec<Value>, String> {
        let items = json
            .as_array()
            .ok_or_else(|| format!("\"{key}\" must be an array of values, one per column"))?;
        if items.len() != rel.columns.len() {
            return Err(format!(
                "\"{key}\" has {} value(s) but {} has {} column(s)",
                items.len(),
                qualified(rel),
                rel.columns.len()
            ));
        }
        items
            .iter()
            .zip(&rel.columns)
            .map(|(v, c)| parse_value(v).map_err(|m| format!("{key}.{}: {m}", c.name)))
            .collect()
    };
    let new = match map.get("new") {
        None | Some(Json::Null) => None,
        Some(json) => Some(row("new", json)?),
    };
    let old = match map.get("old") {
        None | Some(Json::Null) => None,
        Some(Json::Object(old)) => {
            check_keys(old, &["key_only", "values"], "\"old\"")?;
            let key_only = get(old, "key_only")?
                .as_bool()
                .ok_or("\"old.key_only\" must be true or false")?;
            Some(OldRow {
                key_only,
                values: row("old", get(old, "values")?)?,
            })
        }
        Some(_) => {
            return Err("\"old\" must be {\"key_only\":bool,\"values\":[...]} or null".into())
        }
    };
    Ok(Change {
        op,
        relation,
        new,
        old,
        xid: get_u32(map, "xid")?,
        commit_lsn: parse_lsn(map, "commit_lsn")?,
        end_lsn: parse_lsn(map, "end_lsn")?,
        commit_time,
        seq: get_u32(map, "seq")?,
    })
}

/// A value's kind and payload: `null`, `"unchanged-toast"` or `{"kind": payload}`.
enum Parsed<'a> {
    Null,
    UnchangedToast,
    Kind(&'a str, &'a Json),
}

fn split_value(json: &Json) -> Result<Parsed<'_>, String> {
    match json {
        Json::Null => Ok(Parsed::Null),
        Json::String(s) if s == "unchanged-toast" => Ok(Parsed::UnchangedToast),
        Json::Object(map) if map.len() == 1 => {
            let (k, v) = map.iter().next().expect("one entry");
            Ok(Parsed::Kind(k.as_str(), v))
        }
        _ => Err(format!(
            "{json} is not a value: use null, \"unchanged-toast\" or {{\"kind\": ...}} \
             (e.g. {{\"int\": 1}}, {{\"text\": \"a\"}})"
        )),
    }
}

fn parse_value(json: &Json) -> Result<Value, String> {
    Ok(match split_value(json)? {
        Parsed::Null => Value::Null,
        Parsed::UnchangedToast => Value::UnchangedToast,
        Parsed::Kind("array", items) => Value::Array(
            items
                .as_array()
                .ok_or("\"array\" must hold a JSON array")?
                .iter()
                .enumerate()
                .map(|(i, d)| parse_datum(d).map_err(|m| format!("element {i}: {m}")))
                .collect::<Result<_, _>>()?,
        ),
        Parsed::Kind(kind, payload) => match scalar(kind, payload)? {
            Datum::Null => Value::Null,
            Datum::Int(i) => Value::Int(i),
            Datum::Float(f) => Value::Float(f),
            Datum::Boolean(b) => Value::Boolean(b),
            Datum::Numeric(s) => Value::Numeric(s),
            Datum::Text(s) => Value::Text(s),
            Datum::Bytes(b) => Value::Bytes(b),
            Datum::Json(s) => Value::Json(s),
            Datum::Timestamptz(t) => Value::Timestamptz(t),
            Datum::Timestamp(t) => Value::Timestamp(t),
            Datum::Date(d) => Value::Date(d),
            Datum::Time(t) => Value::Time(t),
            Datum::Uuid(s) => Value::Uuid(s),
            Datum::Other(s) => Value::Other(s),
        },
    })
}

fn parse_datum(json: &Json) -> Result<Datum, String> {
    match split_value(json)? {
        Parsed::Null => Ok(Datum::Null),
        Parsed::UnchangedToast => Err("an array element cannot be \"unchanged-toast\"".into()),
        Parsed::Kind("array", _) => {
            Err("arrays do not nest (multi-dimensional arrays arrive as \"other\")".into())
        }
        Parsed::Kind(kind, payload) => scalar(kind, payload),
    }
}

fn scalar(kind: &str, payload: &Json) -> Result<Datum, String> {
    let text = || {
        payload
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("\"{kind}\" must hold a string"))
    };
    let instant = |parse: fn(&str) -> Result<i64, String>| match payload {
        Json::String(s) => parse(s),
        Json::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("\"{kind}\" must be text or an integer")),
        _ => Err(format!("\"{kind}\" must be text or an integer")),
    };
    Ok(match kind {
        "int" => Datum::Int(
            payload
                .as_i64()
                .ok_or("\"int\" must be an integer from -2^63 to 2^63-1")?,
        ),
        "float" => Datum::Float(match payload {
            Json::String(s) => parse_float(s)?,
            Json::Number(n) => n.as_f64().ok_or("\"float\" is not a number")?,
            _ => return Err("\"float\" must be a string like \"1.5\" or \"NaN\"".into()),
        }),
        "boolean" => Datum::Boolean(
            payload
                .as_bool()
                .ok_or("\"boolean\" must be true or false")?,
        ),
        "numeric" => Datum::Numeric(text()?),
        "text" => Datum::Text(text()?),
        "uuid" => Datum::Uuid(text()?),
        "other" => Datum::Other(text()?),
        "json" => Datum::Json(text()?),
        "bytes" => {
            Datum::Bytes(hex::decode(text()?).map_err(|e| format!("\"bytes\" must be hex: {e}"))?)
        }
        "timestamptz" => Datum::Timestamptz(instant(timefmt::parse_timestamptz)?),
        "timestamp" => Datum::Timestamp(instant(timefmt::parse_timestamp)?),
        "time" => Datum::Time(instant(timefmt::parse_time)?),
        "date" => Datum::Date(match payload {
            Json::String(s) => timefmt::parse_date(s)?,
            Json::Number(n) => n
                .as_i64()
                .and_then(|d| i32::try_from(d).ok())
                .ok_or("\"date\" must be YYYY-MM-DD or a 32-bit count of days")?,
            _ => return Err("\"date\" must be YYYY-MM-DD or a count of days".into()),
        }),
        other => {
            return Err(format!(
                "unknown value kind {other:?} (int, float, boolean, numeric, text, bytes, json, \
                 timestamptz, timestamp, date, time, uuid, other, array)"
            ))
        }
    })
}

fn parse_float(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ if s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) =>
        {
            s.parse::<f64>()
                .map_err(|_| format!("\"float\" {s:?} is not a number"))
        }
        _ => Err(format!(
            "\"float\" {s:?} is not a number (or \"NaN\", \"Infinity\", \"-Infinity\")"
        )),
    }
}
