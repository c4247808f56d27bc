//! Keeps the changes of one table (optionally only rows where a column equals a value), projects
//! and renames columns, and prints one compact JSON object per change on standard output:
//!
//! ```text
//! {"op":"update","table":"public.orders","key":{"order_id":7},"row":{"order_id":7,"amount":"9.50"}}
//! ```
//!
//! Configuration (`--sink-config key=value`):
//! - `table` (required): `schema.table`, or `table` for that name in any schema.
//! - `where`: `column=value`; keeps a change only when the column equals the value. Compared with
//!   the new row, or for a DELETE with the old row (which has only the key columns unless the table
//!   has REPLICA IDENTITY FULL). Integers and floats compare as numbers, booleans accept
//!   `true/false/t/f/yes/no/on/off/1/0`, `bytea` compares with PostgreSQL's `\x…` hex form, and
//!   everything else with its text (dates and times in the SDK's JSON form). NULL matches nothing.
//!   A TRUNCATE of the table is always passed on.
//! - `fields`: comma-separated columns to keep, in that order (default: all, in table order).
//! - `rename`: `old:new,...` output names for columns (applies to `key` and `row`).
//!
//! `key` holds the replica identity columns (from the new row, or the old row for a DELETE);
//! `row` the kept columns of the new row, `null` for DELETE and TRUNCATE. Unchanged TOAST columns
//! are left out of both. A column named in `where`, `fields` or `rename` that the table does not
//! have stops the sink with an error naming it.

use conduit_sink_sdk::serde_json::{self, Map, Value as Json};
use conduit_sink_sdk::{Batch, ChangeView, Config, Operation, Relation, Sink, SinkError, Value};
use std::io::{self, BufWriter, Write};

const KEYS: [&str; 4] = ["table", "where", "fields", "rename"];

/// The parsed configuration.
#[derive(Clone, Debug, PartialEq)]
struct Spec {
    schema: Option<String>,
    table: String,
    filter: Option<(String, String)>,
    fields: Option<Vec<String>>,
    rename: Vec<(String, String)>,
}

/// How to reshape the changes of one relation of a batch: column indices and output names.
#[derive(Debug)]
struct Plan {
    qualified: String,
    filter: Option<(usize, String)>,
    fields: Vec<(usize, String)>,
    keys: Vec<(usize, String)>,
}

impl Spec {
    fn from_config(config: &Config) -> Result<Spec, SinkError> {
        if let Some((key, _)) = config.iter().find(|(k, _)| !KEYS.contains(k)) {
            return Err(SinkError::fatal(format!(
                "unknown sink config `{key}`: filter-reshape understands {}",
                KEYS.join(", ")
            )));
        }

        let table = config.require("table")?.trim();
        let (schema, table) = match table.split_once('.') {
            None => (None, table),
            Some((schema, name)) if !schema.trim().is_empty() && !name.trim().is_empty() => {
                (Some(schema.trim().to_string()), name.trim())
            }
            Some(_) => {
                return Err(SinkError::fatal(format!(
                    "sink config `table={table}` is invalid: expected `schema.table` or `table`, \
                     e.g. --sink-config table=public.orders"
                )))
            }
        };

        let filter = match config.get("where") {
            None => None,
            Some(clause) => match clause.split_once('=') {
                Some((column, value)) if !column.trim().is_empty() => {
                    Some((column.trim().to_string(), value.to_string()))
                }
                _ => {
                    return Err(SinkError::fatal(format!(
                        "sink config `where={clause}` is invalid: expected `column=value`, \
                         e.g. --sink-config where=status=shipped"
                    )))
                }
            },
        };

        let fields = match config.get("fields") {
            None => None,
            Some(list) => {
                let fields: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(String::from)
                    .collect();
                if fields.is_empty() {
                    return Err(SinkError::fatal(
                        "sink config `fields` lists no columns: give a comma-separated list, \
                         e.g. --sink-config fields=id,total, or leave it out to keep all columns",
                    ));
                }
                Some(fields)
            }
        };

        let mut rename = Vec::new();
        for entry in config.get("rename").unwrap_or("").split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            match entry.split_once(':') {
                Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
                    rename.push((from.trim().to_string(), to.trim().to_string()))
                }
                _ => {
                    return Err(SinkError::fatal(format!(
                        "sink config `rename` entry `{entry}` is invalid: expected `old:new` pairs \
                         separated by commas, e.g. --sink-config rename=id:order_id,total:amount"
                    )))
                }
            }
        }

        Ok(Spec {
            schema,
            table: table.to_string(),
            filter,
            fields,
            rename,
        })
    }

    fn matches_table(&self, relation: &Relation) -> bool {
        relation.name == self.table && self.schema.as_ref().is_none_or(|s| *s == relation.schema)
    }

    fn output_name<'a>(&'a self, column: &'a str) -> &'a str {
        self.rename
            .iter()
            .rev()
            .find(|(from, _)| from == column)
            .map_or(column, |(_, to)| to)
    }

    /// The plan for `relation`, or `None` if the sink ignores it.
    fn plan(&self, relation: &Relation) -> Result<Option<Plan>, SinkError> {
        if !self.matches_table(relation) {
            return Ok(None);
        }
        let qualified = format!("{}.{}", relation.schema, relation.name);
        let index = |config: &str, name: &str| -> Result<usize, SinkError> {
            relation
                .columns
                .iter()
                .position(|c| c.name == name)
                .ok_or_else(|| {
                    let columns: Vec<&str> =
                        relation.columns.iter().map(|c| c.name.as_str()).collect();
                    SinkError::fatal(format!(
                        "sink config `{config}` names column `{name}`, which table {qualified} \
                         does not have (its columns: {}); fix the config and restart",
                        columns.join(", ")
                    ))
                })
        };
        for (from, _) in &self.rename {
            index("rename", from)?;
        }
        let filter = match &self.filter {
            Some((column, value)) => Some((index("where", column)?, value.clone())),
            None => None,
        };
        let fields: Vec<usize> = match &self.fields {
            Some(names) => names
                .iter()
                .map(|name| index("fields", name))
                .collect::<Result<_, _>>()?,
            None => (0..relation.columns.len()).collect(),
        };
        let named = |i: usize| (i, self.output_name(&relation.columns[i].name).to_string());
        let fields: Vec<(usize, String)> = fields.into_iter().map(named).collect();
        let keys: Vec<(usize, String)> = (0..relation.columns.len())
            .filter(|&i| relation.columns[i].key)
            .map(named)
            .collect();
        for list in [&fields, &keys] {
            for (n, (_, name)) in list.iter().enumerate() {
                if list[..n].iter().any(|(_, other)| other == name) {
                    return Err(SinkError::fatal(format!(
                        "sink configs `fields`/`rename` give two columns of {qualified} the \
                         output name `{name}`; rename one of them"
                    )));
                }
            }
        }
        Ok(Some(Plan {
            qualified,
            filter,
            fields,
            keys,
        }))
    }

    /// Writes one line per kept change of `batch` to `out`; returns how many.
    fn write_batch(&self, batch: &Batch, out: &mut dyn Write) -> Result<usize, SinkError> {
        let plans = batch
            .relations
            .iter()
            .map(|r| self.plan(r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut written = 0;
        for change in batch.changes() {
            let Some(Some(plan)) = plans.get(change.change().relation as usize) else {
                continue;
            };
            if let Some(line) = reshape(plan, &change) {
                serde_json::to_writer(&mut *out, &line)
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|e| {
                        SinkError::retryable(format!("writing to standard output: {e}"))
                    })?;
                written += 1;
            }
        }
        Ok(written)
    }
}

/// The output object for `change`, or `None` when the `where` clause filters it out.
fn reshape(plan: &Plan, change: &ChangeView<'_>) -> Option<Json> {
    let op = change.op();
    let new = change.new_row();
    let old = change.old_row();
    if let (Some((index, want)), false) = (&plan.filter, op == Operation::Truncate) {
        let column = &change.columns()[*index].name;
        // The new value; the old one when there is no new row or the new value was not sent.
        let value = new
            .and_then(|row| row.get(*index))
            .filter(|v| !v.is_unchanged_toast())
            .or_else(|| change.old_value(column));
        if !value.is_some_and(|v| equals(v, want)) {
            return None;
        }
    }
    let pick = |row: &[Value], columns: &[(usize, String)]| {
        let mut object = Map::new();
        for (index, name) in columns {
            match row.get(*index) {
                Some(v) if !v.is_unchanged_toast() => {
                    object.insert(name.clone(), v.to_json());
                }
                _ => {}
            }
        }
        Json::Object(object)
    };
    let (key, row) = match (op, new, old) {
        (Operation::Truncate, _, _) => (Json::Null, Json::Null),
        (_, Some(new), _) => (pick(new, &plan.keys), pick(new, &plan.fields)),
        (_, None, Some(old)) => (pick(&old.values, &plan.keys), Json::Null),
        (_, None, None) => (Json::Object(Map::new()), Json::Null),
    };
    let mut line = Map::with_capacity(4);
    line.insert("op".into(), op.as_str().into());
    line.insert("table".into(), plan.qualified.clone().into());
    line.insert("key".into(), key);
    line.insert("row".into(), row);
    Some(Json::Object(line))
}

/// Whether `value` equals the `where` clause's text `want`.
fn equals(value: &Value, want: &str) -> bool {
    match value {
        Value::Null | Value::UnchangedToast => false,
        Value::Int(i) => want.trim().parse::<i64>() == Ok(*i),
        Value::Float(f) => match want.trim().parse::<f64>() {
            Ok(w) => w == *f || (w.is_nan() && f.is_nan()),
            Err(_) => false,
        },
        Value::Boolean(b) => {
            let want = want.trim().to_ascii_lowercase();
            let truthy = ["true", "t", "yes", "on", "1"].contains(&want.as_str());
            let falsy = ["false", "f", "no", "off", "0"].contains(&want.as_str());
            (*b && truthy) || (!*b && falsy)
        }
        Value::Bytes(bytes) => {
            let mut hex = String::with_capacity(2 + 2 * bytes.len());
            hex.push_str("\\x");
            for b in bytes {
                hex.push_str(&format!("{b:02x}"));
            }
            hex.eq_ignore_ascii_case(want)
        }
        Value::Text(s) | Value::Numeric(s) | Value::Json(s) | Value::Uuid(s) | Value::Other(s) => {
            s == want
        }
        other => match other.to_json() {
            Json::String(s) => s == want,
            json => serde_json::to_string(&json).is_ok_and(|text| text == want),
        },
    }
}

struct FilterReshape {
    spec: Spec,
}

impl Sink for FilterReshape {
    fn connect(config: Config) -> Result<Self, SinkError> {
        Ok(FilterReshape {
            spec: Spec::from_config(&config)?,
        })
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        // The SDK's stdout: std's discards output on wasm32-unknown-unknown (see its `io`).
        let mut out = BufWriter::with_capacity(64 * 1024, conduit_sink_sdk::io::stdout());
        self.spec.write_batch(batch, &mut out)?;
        out.flush()
            .map_err(|e| SinkError::retryable(format!("writing to standard output: {e}")))
    }
}

conduit_sink_sdk::export_sink!(FilterReshape);

#[cfg(test)]
mod tests {
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

    fn change(
        relation: u32,
        op: Operation,
        new: Option<Vec<Value>>,
        old: Option<OldRow>,
    ) -> Change {
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
}
