//! Batches ⇄ lines of an event file (the format is described in `record/mod.rs`).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// A JSON object read from a line, with its 1-based line number.
type NumberedLine = (usize, Map<String, Json>);

use serde_json::{Map, Value as Json};

use crate::event::Lsn;
use crate::sandbox::bindings::{Batch, Change, Column, Datum, OldRow, Operation, Relation, Value};
use conduit_timefmt as timefmt;

/// The first line of a file written by the [`super::Recorder`].
pub const HEADER: &str = r#"{"format":"conduit-wasm-events","version":1}"#;

const FORMAT_NAME: &str = "conduit-wasm-events";
const FORMAT_VERSION: u64 = 1;

// ------------------------------------------------------------------------------------------------
// Writing

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
    }
}

fn qualified(rel: &Relation) -> String {
    format!("{}.{}", rel.schema, rel.name)
}

// ------------------------------------------------------------------------------------------------
// Reading

/// What is wrong with an events file: one line naming the file and, when it is about one line
/// of it, the line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct EventsError {
    pub file: String,
    /// 1-based line number; 0 when the error is not about one line.
    pub line: usize,
    pub message: String,
}

impl EventsError {
    fn render(&self) -> String {
        let text = if self.line == 0 {
            format!("{}: {}", self.file, self.message)
        } else {
            format!("{} line {}: {}", self.file, self.line, self.message)
        };
        text.replace('\n', " ")
    }
}

/// Reads a whole events file.
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<Batch>, EventsError> {
    let mut reader = EventReader::open(path.as_ref())?;
    let mut batches = Vec::new();
    while let Some((_, batch)) = reader.next_batch()? {
        batches.push(batch);
    }
    Ok(batches)
}

/// Reads an events file one batch at a time.
pub struct EventReader<R> {
    file: String,
    input: R,
    line_no: usize,
    buf: String,
    /// A batch line already read (its line number and relations) whose changes come next.
    pending: Option<(usize, Vec<Relation>)>,
    started: bool,
}

impl EventReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, EventsError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| EventsError {
            file: shown.clone(),
            line: 0,
            message: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "not found: pass a file written by `conduit-wasm run --record` or one of \
                     tests/events/*.jsonl"
                        .into()
                }
                _ => format!("cannot read it: {e}"),
            },
        })?;
        Ok(EventReader::new(
            shown,
            BufReader::with_capacity(256 << 10, file),
        ))
    }
}

impl<R: BufRead> EventReader<R> {
    /// `name` is how errors refer to the input.
    pub fn new(name: impl Into<String>, input: R) -> Self {
        EventReader {
            file: name.into(),
            input,
            line_no: 0,
            buf: String::new(),
            pending: None,
            started: false,
        }
    }

    fn err(&self, line: usize, message: impl Into<String>) -> EventsError {
        EventsError {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    /// The next non-empty line as JSON, with its line number; `None` at the end.
    fn next_line(&mut self) -> Result<Option<NumberedLine>, EventsError> {
        loop {
            self.buf.clear();
            let n = self.input.read_line(&mut self.buf).map_err(|e| {
                self.err(
                    self.line_no + 1,
                    match e.kind() {
                        std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
                        _ => format!("cannot read: {e}"),
                    },
                )
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let line = self.buf.trim();
            if line.is_empty() {
                continue;
            }
            let json: Json = serde_json::from_str(line).map_err(|e| {
                let hint = if self.buf.ends_with('\n') {
                    ""
                } else {
                    " (the last line is cut short: was the recording interrupted?)"
                };
                self.err(self.line_no, format!("not a JSON object: {e}{hint}"))
            })?;
            let Json::Object(map) = json else {
                return Err(self.err(self.line_no, "not a JSON object"));
            };
            return Ok(Some((self.line_no, map)));
        }
    }

    /// The next batch and the line number of its batch line; `None` at the end of the file.
    pub fn next_batch(&mut self) -> Result<Option<(usize, Batch)>, EventsError> {
        let (header_line, relations) = match self.pending.take() {
            Some(p) => p,
            None => loop {
                let Some((no, map)) = self.next_line()? else {
                    return Ok(None);
                };
                let first = !self.started;
                self.started = true;
                if map.contains_key("format") {
                    if !first {
                        return Err(self.err(no, "a format header after the first line"));
                    }
                    check_header(&map).map_err(|m| self.err(no, m))?;
                    continue;
                }
                if map.contains_key("batch") {
                    let relations = parse_batch_line(&map).map_err(|m| self.err(no, m))?;
                    break (no, relations);
                }
                return Err(self.err(
                    no,
                    "a change before the first batch line: every batch starts with a line \
                     {\"batch\":N,\"relations\":[...]}",
                ));
            },
        };
        let mut batch = Batch {
            relations,
            changes: Vec::new(),
        };
        while let Some((no, map)) = self.next_line()? {
            if map.contains_key("batch") {
                let relations = parse_batch_line(&map).map_err(|m| self.err(no, m))?;
                self.pending = Some((no, relations));
                break;
            }
            if map.contains_key("format") {
                return Err(self.err(no, "a format header after the first line"));
            }
            let change = parse_change(&batch, &map).map_err(|m| self.err(no, m))?;
            batch.changes.push(change);
        }
        Ok(Some((header_line, batch)))
    }
}

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

fn check_header(map: Fields) -> Result<(), String> {
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

fn parse_batch_line(map: Fields) -> Result<Vec<Relation>, String> {
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

fn parse_change(batch: &Batch, map: Fields) -> Result<Change, String> {
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
        other => {
            return Err(format!(
                "\"op\" {other:?} is not insert, update, delete or truncate"
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
