//! The initial snapshot: the rows that existed when the slot was created, delivered to every
//! tenant as reads before the first streamed change.
//!
//! A task reads the tables (see [`crate::source::snapshot`]) a chunk ahead of the sinks; this
//! loop hands each chunk to the tenants as one part of a single "snapshot transaction" at the
//! slot's consistent point, so routing, grants, batching, backlogs, retries and group commit are
//! the stream's own. Every tenant's position reaches the consistent point only when its last
//! read is accepted. The marker file records which tables every tenant has durably; a run
//! stopped or killed before the end leaves the slot as it is, and the next run completes the
//! other tables by backfill (an exported snapshot dies with its connection, the watermarks keep
//! the rest consistent with the stream). Only when an unfinished table has no key to read it in
//! ranges does the snapshot start again from zero, in a new slot.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::status::SnapshotStatus;
use super::stream_loop::Loop;
use crate::assemble::{RelationInfo, RowChange, Transaction};
use crate::event::{Change, Lsn, Operation, Value};
use crate::source::conninfo::ConnInfo;
use crate::source::snapshot::{BlockRange, SnapshotReader, SnapshotTable};

/// Snapshot rows are reads (sinks built against contract 0.1.0 get them as inserts).
const SNAPSHOT_OP: Operation = Operation::Read;

/// How the snapshot phase ended.
pub(super) enum SnapshotEnd {
    /// Every read was accepted and is durable: stream from the consistent point.
    Complete,
    /// A stop was requested before that.
    Stopped,
}

/// What the reading task sends: rows of a table, or that it is done with one.
enum Piece {
    Rows(Arc<RelationInfo>, Vec<Vec<Value>>),
    UnitDone {
        name: String,
        rows: u64,
        parts: usize,
    },
}

/// A reader's piece of work: a table, or one block range of a large one.
struct Unit {
    table: Arc<SnapshotTable>,
    range: Option<BlockRange>,
    /// How many units the table was split into.
    parts: usize,
}

/// Below this many blocks (8 MiB) a table is read whole.
const MIN_RANGE_BLOCKS: u64 = 1024;

/// The units of `tables`: a large table is split into block ranges (up to four per reader, at
/// least [`MIN_RANGE_BLOCKS`] each) so that `workers` readers share it; the last range is open,
/// so nothing the snapshot sees is left out.
fn units(tables: Vec<SnapshotTable>, workers: usize, split: bool) -> VecDeque<Unit> {
    let mut out = VecDeque::new();
    for table in tables {
        let table = Arc::new(table);
        let n = if split && workers > 1 && !table.partitioned {
            (table.blocks / MIN_RANGE_BLOCKS).min(4 * workers as u64) as usize
        } else {
            1
        };
        if n < 2 {
            out.push_back(Unit {
                table,
                range: None,
                parts: 1,
            });
            continue;
        }
        let step = table.blocks.div_ceil(n as u64);
        for i in 0..n as u64 {
            let end = (i + 1 < n as u64).then_some((i + 1) * step);
            out.push_back(Unit {
                table: table.clone(),
                range: Some((i * step, end)),
                parts: n,
            });
        }
    }
    out
}

/// Where the snapshot comes from.
pub struct SnapshotSource {
    pub conn: ConnInfo,
    pub snapshot: String,
    pub consistent_point: Lsn,
    pub taken_at: i64,
    pub tables: Vec<Arc<RelationInfo>>,
    /// Reset each table (a `truncate` before its reads): see [`super::InitialSnapshot`].
    pub restarted: bool,
    /// Large tables may be read in block ranges side by side (TID range scans: PostgreSQL 14+).
    pub split_tables: bool,
}

impl Loop<'_> {
    /// Reads and delivers the snapshot; returns once every tenant's position is durable at
    /// the consistent point, or a stop was requested.
    pub(super) async fn snapshot(
        &mut self,
        source: SnapshotSource,
        shutdown: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<SnapshotEnd> {
        let cp = source.consistent_point;
        let taken_at = source.taken_at;
        let first = SnapshotReader::open(&source.conn, &source.snapshot).await?;
        let resets: Vec<Arc<RelationInfo>> = if source.restarted {
            source.tables.clone()
        } else {
            Vec::new()
        };
        let tables = first.describe(source.tables).await?;
        let estimate: u64 = tables.iter().map(|t| t.estimated_rows).sum();
        let tables_total = tables.len();
        let queue = units(tables, self.cfg.snapshot_workers, source.split_tables);
        let workers = self.cfg.snapshot_workers.clamp(1, queue.len().max(1));
        tracing::info!(
            "initial snapshot at {cp}: {tables_total} tables in {} parts, about {estimate} rows, \
             {workers} reader(s)",
            queue.len()
        );
        let mut parts_done: std::collections::HashMap<String, (usize, u64)> = Default::default();
        let (tx, mut pieces) = mpsc::channel::<anyhow::Result<Piece>>(2 * workers);
        let queue = Arc::new(Mutex::new(queue));
        let mut readers = Vec::with_capacity(workers);
        let mut first = Some(first);
        for _ in 0..workers {
            let reader = match first.take() {
                Some(r) => r,
                None => SnapshotReader::open(&source.conn, &source.snapshot).await?,
            };
            let (tx, queue) = (tx.clone(), queue.clone());
            readers.push(tokio::spawn(async move {
                let mut reader = reader;
                if let Err(e) = read_tables(&mut reader, &queue, &tx).await {
                    let _ = tx.send(Err(e)).await;
                }
            }));
        }
        drop(tx);
        let mut tables_done = 0;
        // Tables read to the end, by the seq of their last read, until every tenant has them
        // on disk; then they are recorded in the marker.
        let mut finishing: VecDeque<(Option<u32>, String)> = VecDeque::new();
        let mut progress_file = Progress {
            consistent_lsn: Some(cp.to_string()),
            done: Vec::new(),
        };
        progress_file.save(&self.cfg.state_dir, &self.cfg.spec.slot)?;
        let progress = |seq: u64, tables_done: usize, started: Instant| SnapshotStatus {
            consistent_lsn: cp.to_string(),
            tables_total,
            tables_done,
            rows_read: seq,
            rows_estimated: estimate,
            rows_per_second: (seq as f64 / started.elapsed().as_secs_f64().max(0.001)) as u64,
        };
        let started = Instant::now();
        // The status file (and so `status` and the progress bar) every second, a log line
        // every fifth.
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let mut ticks = 0u64;
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seq: u64 = 0;
        let mut read_done = false;
        let header = Transaction {
            xid: 0,
            commit_lsn: cp.0,
            end_lsn: cp.0,
            commit_time: taken_at,
            changes: Vec::new(),
        };
        if !resets.is_empty() {
            // Rows an interrupted snapshot delivered may have been deleted since; nothing in the
            // new snapshot or the stream would say so. A truncate of each table first makes the
            // sink's copy exactly the new snapshot.
            let mut part = Transaction::header_of(&header);
            for relation in &resets {
                let mut change = read_change(relation, Vec::new(), &header, seq as u32);
                change.change.op = Operation::Truncate;
                change.change.new = None;
                part.changes.push(change);
                seq += 1;
            }
            self.tenants.offer(part, false).await;
        }
        let end = loop {
            if read_done && self.tenants.all_idle() && !self.tenants.any_in_flight() {
                break SnapshotEnd::Complete;
            }
            if self.shutting_down && !self.tenants.any_in_flight() {
                break SnapshotEnd::Stopped;
            }
            if self.tenants.dispatch_due() {
                self.tenants.dispatch(self.shutting_down).await;
            }
            let taking = !read_done && !self.shutting_down && !self.tenants.any_full();
            let in_flight = self.tenants.any_in_flight();
            let send_due = self.tenants.send_due();
            let flush_due = self.durability.flush_due();
            tokio::select! {
                piece = pieces.recv(), if taking => match piece {
                    Some(Ok(Piece::Rows(relation, rows))) => {
                        let mut part = Transaction { changes: Vec::with_capacity(rows.len()), ..Transaction::header_of(&header) };
                        for values in rows {
                            let Ok(n) = u32::try_from(seq) else {
                                anyhow::bail!(
                                    "the initial snapshot has more than {} rows, the most a change's \
                                     seq can number: snapshot fewer tables (--tables) or use \
                                     --snapshot never",
                                    u32::MAX
                                );
                            };
                            part.changes.push(read_change(&relation, values, &header, n));
                            seq += 1;
                        }
                        self.received = self.received.max(cp);
                        self.tenants.offer(part, false).await;
                    }
                    Some(Ok(Piece::UnitDone { name, rows, parts })) => {
                        let done = parts_done.entry(name.clone()).or_default();
                        *done = (done.0 + 1, done.1 + rows);
                        if done.0 < parts {
                            continue;
                        }
                        let rows = done.1;
                        tables_done += 1;
                        finishing.push_back((seq.checked_sub(1).map(|s| s as u32), name.clone()));
                        tracing::info!("snapshot: {name}: {rows} rows read ({tables_done}/{tables_total} tables)");
                    }
                    Some(Err(e)) => return Err(e.context("reading the initial snapshot")),
                    None => {
                        // The last part: once accepted, every tenant's position is the
                        // consistent point.
                        self.tenants.offer(Transaction::header_of(&header), true).await;
                        read_done = true;
                        self.transactions += 1;
                    }
                },
                outcome = self.outcomes.recv(), if in_flight => {
                    if self.tenants.on_outcome(outcome, &self.cfg.spec.slot).await? {
                        self.durability.accepted(&self.tenants);
                    }
                }
                written = self.durability.finished(), if self.durability.writing() => {
                    self.durability.became_durable(&mut self.tenants, written?);
                    let before = progress_file.done.len();
                    while let Some((last, _)) = finishing.front() {
                        if last.is_some_and(|s| !self.tenants.all_cover(cp, s)) {
                            break;
                        }
                        let (_, name) = finishing.pop_front().expect("checked");
                        progress_file.done.push(name);
                    }
                    if progress_file.done.len() != before {
                        progress_file.save(&self.cfg.state_dir, &self.cfg.spec.slot)?;
                    }
                }
                _ = tokio::time::sleep_until(send_due.unwrap_or_else(Instant::now).into()), if send_due.is_some() => {
                    self.tenants.mark_dispatch_due();
                }
                _ = tokio::time::sleep_until(flush_due.unwrap_or_else(Instant::now).into()), if flush_due.is_some() => {
                    self.durability.begin(&self.tenants);
                }
                _ = ticker.tick() => {
                    ticks += 1;
                    let p = progress(seq, tables_done, started);
                    if !ticks.is_multiple_of(5) {
                        self.write_status_with(true, Some(p));
                        continue;
                    }
                    let eta = estimate
                        .saturating_sub(seq)
                        .checked_div(p.rows_per_second)
                        .map(|s| format!(", about {s}s left"))
                        .unwrap_or_default();
                    tracing::info!(
                        "snapshot: {seq} of about {estimate} rows read, {tables_done}/{tables_total} \
                         tables ({} rows/s{eta})",
                        p.rows_per_second
                    );
                    self.write_status_with(true, Some(p));
                }
                _ = shutdown.changed(), if !self.shutting_down => {
                    tracing::info!("shutting down during the initial snapshot: the next run completes it");
                    self.shutting_down = true;
                    self.tenants.cancel_retries();
                }
            }
        };
        for r in readers {
            r.abort();
        }
        // Its final figures once (the metrics keep them), then the snapshot's progress leaves
        // the status file (and the progress bar goes).
        self.write_status_with(true, Some(progress(seq, tables_done, started)));
        self.write_status(true);
        self.durability.now(&mut self.tenants).await?;
        if let SnapshotEnd::Complete = end {
            tracing::info!(
                "initial snapshot delivered: {seq} rows in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(end)
    }
}

/// Reads tables from `queue` until it is empty, a chunk at a time, into `tx` (which bounds how
/// far reading runs ahead of the sinks).
async fn read_tables(
    reader: &mut SnapshotReader,
    queue: &Mutex<VecDeque<Unit>>,
    tx: &mpsc::Sender<anyhow::Result<Piece>>,
) -> anyhow::Result<()> {
    loop {
        let Some(unit) = queue.lock().expect("snapshot queue").pop_front() else {
            return Ok(());
        };
        let table = &unit.table;
        reader.start(table, unit.range).await?;
        let mut rows_read = 0u64;
        loop {
            let rows = reader.next_rows(table).await?;
            if rows.is_empty() {
                break;
            }
            rows_read += rows.len() as u64;
            if tx
                .send(Ok(Piece::Rows(table.relation.clone(), rows)))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
        let done = Piece::UnitDone {
            name: table.relation.qualified_name(),
            rows: rows_read,
            parts: unit.parts,
        };
        if tx.send(Ok(done)).await.is_err() {
            return Ok(());
        }
    }
}

/// One snapshot row as a change: at the consistent point, numbered across the snapshot.
fn read_change(
    relation: &Arc<RelationInfo>,
    values: Vec<Value>,
    header: &Transaction,
    seq: u32,
) -> RowChange {
    RowChange {
        relation: relation.clone(),
        change: Change {
            op: SNAPSHOT_OP,
            relation: relation.relation.oid,
            new: Some(values),
            old: None,
            xid: header.xid,
            commit_lsn: header.commit_lsn,
            end_lsn: header.end_lsn,
            commit_time: header.commit_time,
            seq,
        },
    }
}

/// The file that says an initial snapshot of `slot` is under way: present from the slot's
/// creation until every tenant's position is durable at its consistent point (or the rest is
/// recorded as backfills).
fn marker(state_dir: &Path, slot: &str) -> PathBuf {
    super::backfill::jobs::sibling(state_dir, slot, "snapshot")
}

/// What the marker holds: the snapshot's consistent point once reading began, and the tables
/// every tenant has durably.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub consistent_lsn: Option<String>,
    #[serde(default)]
    pub done: Vec<String>,
}

impl Progress {
    fn save(&self, state_dir: &Path, slot: &str) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(self)?;
        crate::checkpoint::write_durably(&marker(state_dir, slot), &bytes)
    }

    /// The marker of an interrupted snapshot of `slot` (an unreadable one counts as empty).
    pub fn read(state_dir: &Path, slot: &str) -> Progress {
        std::fs::read_to_string(marker(state_dir, slot))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }
}

/// Records that the initial snapshot of `slot` starts (before the slot is created, so that a
/// crash in between is noticed too).
pub fn started(state_dir: &Path, slot: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    std::fs::write(marker(state_dir, slot), b"{}\n")
}

/// The initial snapshot of `slot` is delivered and durable.
pub fn completed(state_dir: &Path, slot: &str) {
    if let Err(e) = std::fs::remove_file(marker(state_dir, slot)) {
        tracing::warn!("could not remove the snapshot marker: {e}");
    }
}

/// A run stopped or died during the initial snapshot of `slot`.
pub fn interrupted(state_dir: &Path, slot: &str) -> bool {
    marker(state_dir, slot).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble::TypeRegistry;

    fn table(blocks: u64, partitioned: bool) -> SnapshotTable {
        SnapshotTable {
            relation: RelationInfo::from_catalog(
                1,
                "public",
                "t",
                &[("id".into(), 23, true)],
                &TypeRegistry::default(),
            ),
            partitioned,
            estimated_rows: 0,
            blocks,
        }
    }

    #[test]
    fn large_tables_are_split_into_ranges_that_cover_every_block() {
        let u = units(vec![table(10_000, false), table(100, false)], 2, true);
        let ranges: Vec<Option<BlockRange>> = u.iter().map(|u| u.range).collect();
        assert_eq!(
            ranges,
            vec![
                Some((0, Some(1250))),
                Some((1250, Some(2500))),
                Some((2500, Some(3750))),
                Some((3750, Some(5000))),
                Some((5000, Some(6250))),
                Some((6250, Some(7500))),
                Some((7500, Some(8750))),
                Some((8750, None)),
                None,
            ]
        );
        assert!(u.iter().take(8).all(|u| u.parts == 8));
        assert_eq!(
            units(vec![table(10_000, false)], 1, true).len(),
            1,
            "one reader"
        );
        assert_eq!(
            units(vec![table(10_000, true)], 2, true).len(),
            1,
            "partitioned"
        );
        assert_eq!(
            units(vec![table(10_000, false)], 2, false).len(),
            1,
            "PostgreSQL < 14"
        );
    }
}
