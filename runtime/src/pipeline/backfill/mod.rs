//! Backfills while the stream runs: the rows that already exist, for some tenants, consistent
//! with the stream, while every tenant keeps streaming.
//!
//! A backfill is a table, a set of tenants and optionally a condition. A task per backfill
//! reads the table in key-ordered chunks between watermarks ([`reader`]); the loop notes which
//! keys the stream changed between a chunk's watermarks ([`window`]) and, at the high watermark,
//! hands the rest of the chunk to the backfill's tenants as `read`s, placed in the stream right
//! before the watermark's own transaction. So each read is ordered against the stream: a tenant
//! sees a row's read before any change committed after it, and never a read older than a
//! change it already has.
//!
//! A read's position is the high watermark's transaction: `commit-lsn` and `end-lsn` are that
//! transaction's, `commit-time` its commit time, `seq` numbers the chunk's reads from 0, and
//! `xid` is the watermark transaction's. (`commit-lsn`, `seq`) is unique and idempotent like any
//! change's: a chunk delivered again after a crash comes with a new watermark, so a sink keyed
//! on it stores the row again, which a read (an upsert) allows.
//!
//! Progress ([`jobs`]) moves only when every tenant of a backfill has the chunk durably; the
//! file is what a restarted run resumes from. Backfills are asked for through the control
//! socket ([`control`], `conduit-wasm backfill`), made for tenants added to a config, and
//! finish an initial snapshot that a killed run left half done.

pub mod control;
pub mod jobs;
mod reader;
mod request;
mod window;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub use jobs::{Job, JobFile};
use reader::{Ask, ReaderEvent, ReaderSetup};
use window::{key_of, Window};

use super::status::BackfillStatus;
use crate::assemble::{RelationInfo, RowChange, Transaction};
use crate::event::{Change, Lsn, Operation, Value};
use crate::source::backfill::{Chunk, TableKey};
use crate::source::conninfo::ConnInfo;

/// A backfill being worked on.
struct Active {
    id: u64,
    relation: Arc<RelationInfo>,
    key: TableKey,
    asks: Option<mpsc::UnboundedSender<Ask>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Number of the chunk asked for last.
    chunk: u64,
    /// A chunk was asked for and its high watermark has not been met yet.
    asked: bool,
    window: Window,
    data: Option<Chunk>,
    /// Where the next chunk starts (ahead of the job's durable `after`).
    next_after: Option<Vec<String>>,
    /// The last chunk was handed to the tenants.
    read_all: bool,
    /// Chunks handed to the tenants, not yet durable for all of them.
    pending: VecDeque<Pending>,
    started: Instant,
    started_rows: u64,
    last_report: Instant,
    retry_at: Option<Instant>,
}

struct Pending {
    end: Lsn,
    after: Option<Vec<String>>,
    rows: u64,
    last: bool,
}

/// All backfills of a run.
pub(super) struct Backfills {
    path: PathBuf,
    file: JobFile,
    conn: ConnInfo,
    nonce: u64,
    active: Vec<Active>,
    events_tx: mpsc::UnboundedSender<ReaderEvent>,
    events: mpsc::UnboundedReceiver<ReaderEvent>,
    dirty: bool,
}

/// How often a running backfill's progress is logged.
const REPORT_EVERY: Duration = Duration::from_secs(10);

impl Backfills {
    /// The backfills recorded for `slot` under `state_dir`.
    pub fn load(state_dir: &Path, slot: &str, conn: ConnInfo) -> anyhow::Result<Backfills> {
        let path = jobs::path(state_dir, slot);
        let file = JobFile::load(&path)?;
        let (events_tx, events) = mpsc::unbounded_channel();
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id()) << 40;
        Ok(Backfills {
            path,
            file,
            conn,
            nonce,
            active: Vec::new(),
            events_tx,
            events,
            dirty: false,
        })
    }

    /// Records a new backfill durably; it starts at the loop's next turn.
    pub fn add(
        &mut self,
        tenants: Vec<String>,
        table: String,
        filter: Option<String>,
        estimated_rows: u64,
        reason: &str,
    ) -> anyhow::Result<u64> {
        let id = self
            .file
            .add(tenants, table, filter, estimated_rows, reason);
        self.file.save(&self.path)?;
        Ok(id)
    }

    /// The tables each tenant was granted when a run last started (`None`: never recorded).
    pub fn known(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        self.file.known.as_ref()
    }

    /// Records the tables each tenant is granted now, durably.
    pub fn set_known(&mut self, known: BTreeMap<String, Vec<String>>) -> anyhow::Result<()> {
        self.file.known = Some(known);
        self.file.save(&self.path)
    }

    /// Recorded backfills not started yet in this run.
    pub fn waiting(&self) -> Vec<Job> {
        self.file
            .jobs
            .iter()
            .filter(|j| !self.active.iter().any(|a| a.id == j.id))
            .cloned()
            .collect()
    }

    /// Starts work on a recorded backfill whose table is `relation` with key `key`.
    pub fn activate(&mut self, job: &Job, relation: Arc<RelationInfo>, key: TableKey) {
        tracing::info!(
            "backfill {} of {} for {}: starting{} ({})",
            job.id,
            job.table,
            job.tenants.join(", "),
            match &job.after {
                Some(after) => format!(" after key ({})", after.join(", ")),
                None => String::new(),
            },
            job.reason
        );
        self.active.push(Active {
            id: job.id,
            relation,
            key,
            asks: None,
            task: None,
            chunk: 0,
            asked: false,
            window: Window::default(),
            data: None,
            next_after: job.after.clone(),
            read_all: false,
            pending: VecDeque::new(),
            started: Instant::now(),
            started_rows: job.rows,
            last_report: Instant::now(),
            retry_at: None,
        });
    }

    /// A recorded backfill that cannot run (its table is gone, say): dropped with a warning.
    pub fn abandon(&mut self, id: u64, why: &str) {
        if let Some(job) = self.file.jobs.iter().find(|j| j.id == id) {
            tracing::warn!(
                "backfill {id} of {} for {} dropped: {why}",
                job.table,
                job.tenants.join(", ")
            );
        }
        self.file.jobs.retain(|j| j.id != id);
        self.dirty = true;
    }

    /// Notes the changes of a transaction (or a part of one) in every open window.
    pub fn observe(&mut self, txn: &Transaction) {
        for a in self.active.iter_mut().filter(|a| a.asked) {
            a.window
                .observe(txn, a.relation.relation.oid, &a.key.columns);
        }
    }

    /// A reading task's news.
    pub fn on_event(&mut self, event: ReaderEvent) {
        match event {
            ReaderEvent::Chunk { job, chunk, data } => {
                if let Some(a) = self
                    .active
                    .iter_mut()
                    .find(|a| a.id == job && a.chunk == chunk)
                {
                    a.data = Some(data);
                }
            }
            ReaderEvent::Failed { job, error } => {
                if let Some(a) = self.active.iter_mut().find(|a| a.id == job) {
                    tracing::warn!("backfill {job}: {error}; trying again in 5 s");
                    a.asks = None;
                    a.task = None;
                    a.asked = false;
                    a.data = None;
                    a.retry_at = Some(Instant::now() + Duration::from_secs(5));
                }
            }
        }
    }

    /// The next news of a reading task.
    pub async fn next_event(&mut self) -> Option<ReaderEvent> {
        self.events.recv().await
    }

    /// The watermarks of a committed transaction: opens windows, and at a high watermark
    /// returns the chunk's reads for its tenants, to be queued before `txn` itself.
    pub fn on_marks(
        &mut self,
        marks: Vec<String>,
        txn: &Transaction,
    ) -> Vec<(Vec<String>, Transaction)> {
        // A chunk is sent before its high watermark is written: it is in the channel by now.
        while let Ok(event) = self.events.try_recv() {
            self.on_event(event);
        }
        let mut out = Vec::new();
        for mark in marks {
            let Some((nonce, job, chunk, high)) = reader::parse_mark(&mark) else {
                continue;
            };
            if nonce != self.nonce {
                continue;
            }
            let Some(a) = self
                .active
                .iter_mut()
                .find(|a| a.id == job && a.chunk == chunk && a.asked)
            else {
                continue;
            };
            if !high {
                a.window.open = true;
                continue;
            }
            a.asked = false;
            let window = std::mem::take(&mut a.window);
            let Some(data) = a.data.take() else {
                tracing::warn!("backfill {job}: chunk {chunk} went missing; reading it again");
                continue;
            };
            let keys: Vec<String> = data
                .rows
                .iter()
                .map(|r| key_of(r, &a.key.columns))
                .collect();
            let Some(changed) = window.close(&keys, &data.in_progress) else {
                tracing::debug!(
                    job,
                    chunk,
                    "the stream truncated or left values out: rereading"
                );
                continue;
            };
            let last = data.rows.len() < reader::CHUNK_ROWS;
            let mut part = Transaction::header_of(txn);
            for (values, key) in data.rows.into_iter().zip(&keys) {
                if !changed.contains(key) {
                    let seq = part.changes.len() as u32;
                    part.changes
                        .push(read_change(&a.relation, values, txn, seq));
                }
            }
            if data.last_key.is_some() {
                a.next_after = data.last_key;
            }
            a.read_all = last;
            a.pending.push_back(Pending {
                end: Lsn(txn.end_lsn),
                after: a.next_after.clone(),
                rows: part.changes.len() as u64,
                last,
            });
            let tenants = self
                .file
                .jobs
                .iter()
                .find(|j| j.id == job)
                .map(|j| j.tenants.clone())
                .unwrap_or_default();
            out.push((tenants, part));
        }
        out
    }

    /// Moves each backfill on: records what its tenants have durably (`durable` gives a
    /// tenant's position on disk), asks for the next chunk, restarts failed readers, and
    /// writes the file when something changed. Returns whether a backfill finished.
    pub fn tick(&mut self, durable: impl Fn(&str) -> Option<Lsn>) -> anyhow::Result<bool> {
        let now = Instant::now();
        let mut finished = Vec::new();
        for a in &mut self.active {
            let Some(job) = self.file.jobs.iter_mut().find(|j| j.id == a.id) else {
                continue;
            };
            let safe = job
                .tenants
                .iter()
                .map(|t| durable(t).unwrap_or_default())
                .min()
                .unwrap_or_default();
            while a.pending.front().is_some_and(|p| p.end <= safe) {
                let p = a.pending.pop_front().expect("checked");
                job.after = p.after;
                job.rows += p.rows;
                self.dirty = true;
                if p.last {
                    finished.push(a.id);
                }
            }
            if now.duration_since(a.last_report) >= REPORT_EVERY {
                a.last_report = now;
                tracing::info!("{}", progress_line(job, a));
            }
            let may_ask = !a.asked
                && !a.read_all
                && a.pending.len() < 2
                && a.retry_at.is_none_or(|t| now >= t);
            if !may_ask {
                continue;
            }
            if a.asks.is_none() {
                let (tx, rx) = mpsc::unbounded_channel();
                let setup = ReaderSetup {
                    conn: self.conn.clone(),
                    job: a.id,
                    nonce: self.nonce,
                    relation: a.relation.clone(),
                    key: a.key.clone(),
                    filter: job.filter.clone(),
                };
                a.task = Some(reader::spawn(setup, rx, self.events_tx.clone()));
                a.asks = Some(tx);
            }
            a.chunk += 1;
            a.asked = true;
            a.window = Window::default();
            a.data = None;
            a.retry_at = None;
            let ask = Ask {
                chunk: a.chunk,
                after: a.next_after.clone(),
            };
            if a.asks.as_ref().is_some_and(|s| s.send(ask).is_err()) {
                a.asks = None;
                a.asked = false;
            }
        }
        for id in &finished {
            if let Some(i) = self.active.iter().position(|a| a.id == *id) {
                let a = self.active.remove(i);
                if let Some(task) = a.task {
                    task.abort();
                }
                if let Some(job) = self.file.jobs.iter().find(|j| j.id == *id) {
                    tracing::info!(
                        "backfill {id} of {} delivered to {}: {} rows in {:.1} s",
                        job.table,
                        job.tenants.join(", "),
                        job.rows,
                        a.started.elapsed().as_secs_f64()
                    );
                }
            }
            self.file.jobs.retain(|j| j.id != *id);
        }
        if self.dirty {
            self.file.save(&self.path)?;
            self.dirty = false;
        }
        Ok(!finished.is_empty())
    }

    /// After a reconnect the stream starts again from the slot: chunks in flight are read
    /// again, and chunks handed over but not durable are forgotten (the durable `after` is
    /// where reading resumes).
    pub fn restart(&mut self) {
        for a in &mut self.active {
            let job = self.file.jobs.iter().find(|j| j.id == a.id);
            a.next_after = job.and_then(|j| j.after.clone());
            a.pending.clear();
            a.asked = false;
            a.read_all = false;
            a.data = None;
        }
    }

    /// For the status file.
    pub fn status(&self) -> Vec<BackfillStatus> {
        self.file
            .jobs
            .iter()
            .map(|job| {
                let a = self.active.iter().find(|a| a.id == job.id);
                BackfillStatus {
                    id: job.id,
                    table: job.table.clone(),
                    tenants: job.tenants.clone(),
                    reason: job.reason.clone(),
                    rows_done: job.rows,
                    rows_estimated: job.estimated_rows,
                    rows_per_second: a.map_or(0, |a| rate(job, a)),
                    running: a.is_some(),
                }
            })
            .collect()
    }

    /// Stops the reading tasks.
    pub fn close(&mut self) {
        for a in &mut self.active {
            if let Some(task) = a.task.take() {
                task.abort();
            }
        }
    }
}

fn rate(job: &Job, a: &Active) -> u64 {
    let rows = job.rows.saturating_sub(a.started_rows);
    (rows as f64 / a.started.elapsed().as_secs_f64().max(0.001)) as u64
}

/// `backfill 3 of public.t for acme: 120000 of about 1000000 rows (40000 rows/s, about 22 s left)`
fn progress_line(job: &Job, a: &Active) -> String {
    let rate = rate(job, a);
    let eta = job
        .estimated_rows
        .saturating_sub(job.rows)
        .checked_div(rate)
        .filter(|_| job.estimated_rows > job.rows)
        .map(|s| format!(", about {s} s left"))
        .unwrap_or_default();
    format!(
        "backfill {} of {} for {}: {} of about {} rows ({rate} rows/s{eta})",
        job.id,
        job.table,
        job.tenants.join(", "),
        job.rows,
        job.estimated_rows.max(job.rows)
    )
}

/// One read row as a change at `txn`'s position (see the module docs).
pub(super) fn read_change(
    relation: &Arc<RelationInfo>,
    values: Vec<Value>,
    txn: &Transaction,
    seq: u32,
) -> RowChange {
    RowChange {
        relation: relation.clone(),
        change: Change {
            op: Operation::Read,
            relation: relation.relation.oid,
            new: Some(values),
            old: None,
            xid: txn.xid,
            commit_lsn: txn.commit_lsn,
            end_lsn: txn.end_lsn,
            commit_time: txn.commit_time,
            seq,
        },
    }
}
