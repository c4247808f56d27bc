//! The rows that already exist: a new slot's exported snapshot, read table by table.
//!
//! `CREATE_REPLICATION_SLOT … EXPORT_SNAPSHOT` on a replication connection returns the slot's
//! consistent point and the name of a snapshot that sees exactly the transactions committed
//! before it: streaming from the slot then starts with the first transaction after. Readers
//! import the snapshot (`SET TRANSACTION SNAPSHOT` in a REPEATABLE READ transaction) while the
//! exporting connection stays open and idle; after that they keep it whatever that connection
//! does. So no row is missing and none is read twice across the boundary.
//!
//! A table is read with `COPY (SELECT …) TO STDOUT` and handed on in chunks of [`CHUNK_ROWS`]:
//! memory stays bounded whatever its size (the reader stops pulling and TCP holds the server
//! back), with the same session settings as the walsender (pinned in `wire`), so every value has
//! the text form the stream would give it and is typed by the same parser. COPY rather than a
//! cursor: a `FETCH` per 10,000 rows through the simple-query protocol cost the server a
//! DataRow per row and us a row object per row; COPY sends each row as one line
//! (`copy_text`). Measured in `cargo xtask bench` (BENCHMARKS.md, "snapshot").

use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio_postgres::{Client, CopyOutStream};

use super::conninfo::ConnInfo;
use super::copy_text::split_row;
use super::quote::{quote_ident, quote_literal};
use super::replication::{self, SystemInfo};
use super::setup::connect_sql;
use super::wire::{Connection, WireError};
use crate::assemble::value::parse_value;
use crate::assemble::RelationInfo;
use crate::error::SetupError;
use crate::event::{Lsn, Value};

/// Rows handed on at a time: about 1–10 MiB for ordinary rows.
pub const CHUNK_ROWS: usize = 10_000;

/// A slot just created with its snapshot exported. The snapshot lives as long as `conn` stays
/// open and idle: import it before sending anything else on `conn`.
pub struct Exported {
    conn: Option<Connection>,
    pub system: SystemInfo,
    pub consistent_point: Lsn,
    pub snapshot: String,
    /// When the snapshot was taken, microseconds since the Unix epoch.
    pub taken_at: i64,
}

/// Creates logical replication slot `slot` (pgoutput) over a replication connection and keeps
/// the connection, which holds the exported snapshot.
pub async fn create_slot_exporting(info: &ConnInfo, slot: &str) -> Result<Exported, WireError> {
    let (mut conn, system) = replication::connect(info).await?;
    let rows = conn
        .simple_query(&format!(
            "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput EXPORT_SNAPSHOT",
            quote_ident(slot)
        ))
        .await?;
    let row = rows.first().ok_or(WireError::Unexpected('D'))?;
    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let consistent_point = field(1).parse().map_err(|e: String| {
        WireError::Setup(SetupError::new(format!("creating slot {slot:?}: {e}")))
    })?;
    let taken_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    Ok(Exported {
        conn: Some(conn),
        system,
        consistent_point,
        snapshot: field(2),
        taken_at,
    })
}

impl Exported {
    /// The exporting connection, to stream from once the snapshot is imported. Only once: a
    /// second call means the connection was lost, and the snapshot with it.
    pub fn take_conn(&mut self) -> Result<Connection, WireError> {
        self.conn.take().ok_or_else(|| {
            WireError::Setup(SetupError::new(
                "the connection holding the initial snapshot was lost before the snapshot was \
                 read: run again (the snapshot starts afresh)",
            ))
        })
    }
}

/// One table of the snapshot, as the stream describes it.
pub struct SnapshotTable {
    pub relation: Arc<RelationInfo>,
    /// `relkind`: `p` (partitioned: its partitions' rows are read through it) or `r`.
    pub partitioned: bool,
    /// The catalog's estimate of its rows (`reltuples`), for progress; 0 when never analysed.
    pub estimated_rows: u64,
    /// Its heap's size in blocks when the snapshot was taken (0 for a partitioned table): the
    /// rows the snapshot sees are all in these blocks, which can be read in ranges side by side.
    pub blocks: u64,
}

/// A block range of a table, `[start, end)`; `end` `None`: to the end of the table.
pub type BlockRange = (u64, Option<u64>);

/// A transaction that sees the exported snapshot, reading one table after another.
pub struct SnapshotReader {
    client: Client,
    /// The table being read.
    copy: Option<Pin<Box<CopyOutStream>>>,
}

impl SnapshotReader {
    /// Opens a REPEATABLE READ transaction on a new connection and imports `snapshot` into it.
    pub async fn open(info: &ConnInfo, snapshot: &str) -> Result<SnapshotReader, SetupError> {
        let client = connect_sql(info).await?;
        let sql = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
             SET TRANSACTION SNAPSHOT {};
             SET LOCAL DateStyle = ISO; SET LOCAL TimeZone = 'UTC';
             SET LOCAL IntervalStyle = postgres; SET LOCAL extra_float_digits = 3;
             SET LOCAL bytea_output = hex",
            quote_literal(snapshot)
        );
        client.batch_execute(&sql).await.map_err(|e| {
            SetupError::new(format!("importing the slot's snapshot {snapshot:?}: {e}"))
        })?;
        Ok(SnapshotReader { client, copy: None })
    }

    /// The relkind and row estimate of each table, in the snapshot.
    pub async fn describe(
        &self,
        tables: Vec<Arc<RelationInfo>>,
    ) -> Result<Vec<SnapshotTable>, SetupError> {
        let mut out = Vec::with_capacity(tables.len());
        for relation in tables {
            let row = self
                .client
                .query_one(
                    "SELECT relkind = 'p', GREATEST(reltuples, 0)::int8,
                            CASE WHEN relkind = 'r' THEN pg_relation_size(oid)
                                 / current_setting('block_size')::int8 ELSE 0 END
                       FROM pg_class WHERE oid = $1",
                    &[&relation.relation.oid],
                )
                .await
                .map_err(|e| {
                    SetupError::new(format!("describing {}: {e}", relation.qualified_name()))
                })?;
            out.push(SnapshotTable {
                relation,
                partitioned: row.get(0),
                estimated_rows: row.get::<_, i64>(1) as u64,
                blocks: row.get::<_, i64>(2) as u64,
            });
        }
        Ok(out)
    }

    /// Starts reading `table` (only the blocks of `range`, when given): its published columns,
    /// in the stream's order. A block range is a TID range scan (PostgreSQL 14+), so several
    /// connections can read one large table side by side.
    pub async fn start(
        &mut self,
        table: &SnapshotTable,
        range: Option<BlockRange>,
    ) -> Result<(), SetupError> {
        let rel = &table.relation.relation;
        let columns: Vec<String> = rel.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let only = if table.partitioned { "" } else { "ONLY " };
        let blocks = match range {
            None => String::new(),
            Some((start, end)) => format!(
                " WHERE ctid >= '({start},0)'::tid{}",
                end.map(|e| format!(" AND ctid < '({e},0)'::tid"))
                    .unwrap_or_default()
            ),
        };
        let sql = format!(
            "COPY (SELECT {} FROM {only}{}.{}{blocks}) TO STDOUT",
            if columns.is_empty() {
                "1".to_string()
            } else {
                columns.join(", ")
            },
            quote_ident(&rel.schema),
            quote_ident(&rel.name),
        );
        // A table left half-read (an earlier reader stopped) is drained first: the connection
        // carries one COPY at a time.
        if let Some(mut earlier) = self.copy.take() {
            while let Some(chunk) = earlier.next().await {
                chunk.map_err(|e| SetupError::new(format!("reading the snapshot: {e}")))?;
            }
        }
        let copy = self.client.copy_out(&sql).await.map_err(|e| {
            SetupError::new(format!("reading {}: {e}", table.relation.qualified_name()))
        })?;
        self.copy = Some(Box::pin(copy));
        Ok(())
    }

    /// The next rows of the table being read (empty when it is done), typed like the stream's.
    pub async fn next_rows(
        &mut self,
        table: &SnapshotTable,
    ) -> Result<Vec<Vec<Value>>, SetupError> {
        let name = || table.relation.qualified_name();
        let Some(copy) = self.copy.as_mut() else {
            return Ok(Vec::new());
        };
        let kinds = &table.relation.kinds;
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        while rows.len() < CHUNK_ROWS {
            // The server sends each row as one CopyData message, newline included.
            let Some(chunk) = copy.next().await else {
                self.copy = None;
                break;
            };
            let chunk = chunk.map_err(|e| SetupError::new(format!("reading {}: {e}", name())))?;
            for line in chunk.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let columns = split_row(line)
                    .map_err(|e| SetupError::new(format!("reading {}: {e}", name())))?;
                let values = kinds
                    .iter()
                    .enumerate()
                    .map(|(i, kind)| match columns.get(i) {
                        Some(Some(text)) => parse_value(*kind, text),
                        _ => Value::Null,
                    })
                    .collect();
                rows.push(values);
            }
        }
        Ok(rows)
    }
}
