//! Reading a table in key order while the stream runs: the SQL side of a backfill.
//!
//! A backfill reads a table in chunks of rows ordered by its key, each chunk in its own
//! REPEATABLE READ transaction, between two watermarks: transactional logical messages
//! (`pg_logical_emit_message(true, 'conduit-wasm', …)`) that the stream carries in commit order.
//! The pipeline drops every row of a chunk whose key changed in the stream between the two
//! watermarks (the stream's change is newer), and delivers the rest right after the high
//! watermark: the watermark algorithm of Netflix's DBLog, which Debezium's incremental snapshots
//! use too. No lock is taken and the slot is never paused.
//!
//! Each chunk is one index range scan (`WHERE (key) > (last key) ORDER BY key LIMIT n`), so a
//! chunk costs the same at the start and at the end of a large table, and a backfill resumes
//! after the last key delivered.

use std::sync::Arc;

use tokio_postgres::{Client, SimpleQueryMessage};

use super::conninfo::ConnInfo;
use super::quote::{quote_ident, quote_literal};
use super::setup::connect_sql;
use crate::assemble::value::parse_value;
use crate::assemble::{RelationInfo, MARK_PREFIX};
use crate::error::SetupError;
use crate::event::Value;

/// The session settings that make every value's text the same as the walsender's (see
/// `wire`), so that a read row is typed exactly like a streamed one.
pub const STREAM_TEXT_FORMS: &str = "SET DateStyle = ISO; SET TimeZone = 'UTC'; \
     SET IntervalStyle = postgres; SET extra_float_digits = 3; SET bytea_output = hex";

/// How a table's rows are ordered and found again: its primary key, else the index of its
/// replica identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKey {
    /// Positions of the key's columns among the published columns, in key order.
    pub columns: Vec<usize>,
    /// Each key column's type as SQL spells it (`format_type`), for the literals of a resumed
    /// range.
    pub types: Vec<String>,
}

/// Finds `table`'s key: its primary key, else its replica identity index. A table with neither
/// cannot be read in ranges (nor told apart row by row in the stream).
pub async fn table_key(client: &Client, table: &RelationInfo) -> Result<TableKey, SetupError> {
    let rel = &table.relation;
    let rows = client
        .query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod)
               FROM pg_index i
               JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = $1
                AND i.indexrelid = (SELECT x.indexrelid FROM pg_index x WHERE x.indrelid = $1
                                     AND (x.indisprimary OR x.indisreplident)
                                   ORDER BY x.indisprimary DESC LIMIT 1)
              ORDER BY k.n",
            &[&rel.oid],
        )
        .await
        .map_err(|e| {
            SetupError::new(format!(
                "reading the key of {}: {e}",
                table.qualified_name()
            ))
        })?;
    if rows.is_empty() {
        return Err(SetupError::new(format!(
            "{} has no primary key or replica identity index, so it cannot be read in key ranges: \
             add a primary key (ALTER TABLE {} ADD PRIMARY KEY (…))",
            table.qualified_name(),
            qualified(table)
        )));
    }
    let mut key = TableKey {
        columns: Vec::new(),
        types: Vec::new(),
    };
    for row in rows {
        let name: String = row.get(0);
        let Some(i) = rel.columns.iter().position(|c| c.name == name) else {
            return Err(SetupError::new(format!(
                "key column {name:?} of {} is not published (a column list leaves it out): \
                 publish it to backfill the table",
                table.qualified_name()
            )));
        };
        key.columns.push(i);
        key.types.push(row.get(1));
    }
    Ok(key)
}

/// `"schema"."table"`.
pub fn qualified(table: &RelationInfo) -> String {
    format!(
        "{}.{}",
        quote_ident(&table.relation.schema),
        quote_ident(&table.relation.name)
    )
}

/// The published columns, quoted, in the stream's order (`1` for a table without columns).
pub fn select_list(table: &RelationInfo) -> String {
    let columns: Vec<String> = table
        .relation
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect();
    if columns.is_empty() {
        "1".into()
    } else {
        columns.join(", ")
    }
}

/// Rows of a simple query typed like the stream's, and the text of the last row's `key`.
pub fn typed_rows(
    messages: Vec<SimpleQueryMessage>,
    table: &RelationInfo,
    key: Option<&TableKey>,
) -> (Vec<Vec<Value>>, Option<Vec<String>>) {
    let mut rows = Vec::new();
    let mut last = None;
    for message in messages {
        let SimpleQueryMessage::Row(row) = message else {
            continue;
        };
        rows.push(
            table
                .kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| match row.get(i) {
                    Some(text) => parse_value(*kind, text),
                    None => Value::Null,
                })
                .collect(),
        );
        if let Some(key) = key {
            last = Some(
                key.columns
                    .iter()
                    .map(|&i| row.get(i).unwrap_or_default().to_string())
                    .collect(),
            );
        }
    }
    (rows, last)
}

/// One chunk of a table, read in its own snapshot.
#[derive(Debug)]
pub struct Chunk {
    pub rows: Vec<Vec<Value>>,
    /// The key of the last row (text forms), where the next chunk starts; `None` when empty.
    pub last_key: Option<Vec<String>>,
    /// Transactions in progress when the chunk's snapshot was taken (xids modulo 2^32). One of
    /// them may have written its commit record before the low watermark and still be invisible
    /// to the chunk (commit order and visibility order can differ), so its changes count as
    /// changed in the window too.
    pub in_progress: Vec<u32>,
}

/// A connection that writes watermarks and reads chunks.
pub struct ChunkReader {
    client: Client,
}

impl ChunkReader {
    pub async fn open(info: &ConnInfo) -> Result<ChunkReader, SetupError> {
        let client = connect_sql(info).await?;
        client
            .batch_execute(STREAM_TEXT_FORMS)
            .await
            .map_err(|e| SetupError::new(format!("preparing a backfill connection: {e}")))?;
        Ok(ChunkReader { client })
    }

    /// Writes a watermark into the WAL: a transactional logical message, committed at once.
    pub async fn watermark(&self, payload: &str) -> Result<(), SetupError> {
        self.client
            .execute(
                "SELECT pg_logical_emit_message(true, $1, $2)",
                &[&MARK_PREFIX, &payload],
            )
            .await
            .map(|_| ())
            .map_err(|e| SetupError::new(format!("writing a backfill watermark: {e}")))
    }

    /// Reads up to `limit` rows of `table` after `after` (from the start when `None`) in key
    /// order, restricted by `filter` (an SQL condition) when given.
    pub async fn read(
        &self,
        table: &Arc<RelationInfo>,
        key: &TableKey,
        after: Option<&[String]>,
        filter: Option<&str>,
        limit: usize,
    ) -> Result<Chunk, SetupError> {
        let names: Vec<String> = key
            .columns
            .iter()
            .map(|&i| quote_ident(&table.relation.columns[i].name))
            .collect();
        let mut conditions = Vec::new();
        if let Some(after) = after {
            let literals: Vec<String> = after
                .iter()
                .zip(&key.types)
                .map(|(text, ty)| format!("{}::{ty}", quote_literal(text)))
                .collect();
            conditions.push(format!(
                "({}) > ({})",
                names.join(", "),
                literals.join(", ")
            ));
        }
        if let Some(filter) = filter {
            conditions.push(format!("({filter})"));
        }
        let sql = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
             SELECT pg_current_snapshot()::text;
             SELECT {} FROM {}{} ORDER BY {} LIMIT {limit};
             COMMIT",
            select_list(table),
            qualified(table),
            if conditions.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conditions.join(" AND "))
            },
            names.join(", ")
        );
        let messages = match self.client.simple_query(&sql).await {
            Ok(m) => m,
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(SetupError::new(format!(
                    "reading {}: {}",
                    table.qualified_name(),
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_string())
                )));
            }
        };
        // The first row is the snapshot (`xmin:xmax:xip,…`), the rest are the table's.
        let mut messages = messages.into_iter();
        let mut in_progress = Vec::new();
        for m in messages.by_ref() {
            if let SimpleQueryMessage::Row(row) = m {
                in_progress = xip(row.get(0).unwrap_or_default());
                break;
            }
        }
        let (rows, last_key) = typed_rows(messages.collect(), table, Some(key));
        Ok(Chunk {
            rows,
            last_key,
            in_progress,
        })
    }

    /// Checks that `filter` is a valid condition on `table` (it is planned, not run).
    pub async fn check_filter(&self, table: &RelationInfo, filter: &str) -> Result<(), String> {
        let sql = format!(
            "EXPLAIN SELECT 1 FROM {} WHERE ({filter})",
            qualified(table)
        );
        self.client
            .simple_query(&sql)
            .await
            .map(|_| ())
            .map_err(|e| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string())
            })
    }
}

/// The in-progress xids of a snapshot's text form, `xmin:xmax:xip1,xip2,…`, modulo 2^32 (the
/// stream's xids are 32 bits).
fn xip(snapshot: &str) -> Vec<u32> {
    snapshot
        .splitn(3, ':')
        .nth(2)
        .unwrap_or_default()
        .split(',')
        .filter_map(|x| x.trim().parse::<u64>().ok())
        .map(|x| x as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn in_progress_xids_are_read_off_the_snapshot() {
        assert_eq!(super::xip("740:745:740,742"), vec![740, 742]);
        assert_eq!(super::xip("745:745:"), Vec::<u32>::new());
        assert_eq!(super::xip("4294967300:4294967301:4294967300"), vec![4]);
    }
}
