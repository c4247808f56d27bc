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
//!   A TRUNCATE of the table is always passed on. A snapshot row (`read`) is filtered like an
//!   insert and printed with `"op":"read"`: the consumer decides how to apply it.
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
mod tests;
