//! The run's state, written to `<state_dir>/status-<slot>.json` every second and at exit, so that
//! `conduit-wasm status` (or any monitoring) can read it without talking to the process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::event::Lsn;
use crate::source::setup::StreamSpec;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunStatus {
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub updated_at: u64,
    pub running: bool,
    pub slot: String,
    pub publication: String,
    /// Highest WAL position the server said it sent.
    pub received_lsn: String,
    /// What the slot was last told it may discard (the minimum over tenants).
    pub confirmed_lsn: String,
    /// The initial snapshot, while it is being delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotStatus>,
    /// Backfills recorded for this stream (running or waiting for the next run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backfills: Vec<BackfillStatus>,
    /// All tenants' queues in memory together, against their budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_memory: Option<QueueMemoryStatus>,
    pub tenants: Vec<TenantStatus>,
    /// A replication session is under way (false while connecting or reconnecting).
    #[serde(default)]
    pub streaming: bool,
    #[serde(default)]
    pub source: SourceStats,
}

/// What the replication connection brought, since the process started.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceStats {
    /// Bytes of pgoutput messages (XLogData payloads).
    pub received_bytes: u64,
    pub received_messages: u64,
    /// Transactions decoded and handed to the tenants.
    pub transactions: u64,
    /// Replication sessions lost and started again.
    pub reconnects: u64,
    /// Bytes of large in-progress transactions written to spill files.
    pub spilled_bytes: u64,
    /// When the newest `--heartbeat` message received was written (µs since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_us: Option<i64>,
}

/// Bytes of queued changes held in memory by all tenants together.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct QueueMemoryStatus {
    pub used: usize,
    /// The most held at once in this run.
    pub peak: usize,
    /// The budget (`queue_memory_mib`); past it, tenants queue on disk.
    pub limit: usize,
}

/// Progress of one backfill.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BackfillStatus {
    pub id: u64,
    pub table: String,
    pub tenants: Vec<String>,
    /// `requested`, `new tenant` or `interrupted snapshot`.
    pub reason: String,
    /// Rows every tenant of the backfill has durably.
    pub rows_done: u64,
    /// From the catalog's statistics (`reltuples`): 0 for tables never analysed.
    pub rows_estimated: u64,
    pub rows_per_second: u64,
    pub running: bool,
}

/// Progress of the initial snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SnapshotStatus {
    /// The slot's consistent point, where streaming starts afterwards.
    pub consistent_lsn: String,
    pub tables_total: usize,
    pub tables_done: usize,
    pub rows_read: u64,
    /// From the catalog's statistics (`reltuples`): 0 for tables never analysed.
    pub rows_estimated: u64,
    /// Rows per second since the snapshot started.
    pub rows_per_second: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantStatus {
    pub id: String,
    /// `active` or `quarantined`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub position_lsn: String,
    /// Changes waiting for the sink, `spilled_changes` of them on disk.
    pub queued_changes: usize,
    #[serde(default)]
    pub spilled_changes: usize,
    pub delivered_changes: u64,
    pub delivered_batches: u64,
    /// Bytes of WAL between this tenant's position and what the server has sent.
    pub lag_bytes: u64,
    /// Changes in the call to the sink under way.
    #[serde(default)]
    pub in_flight_changes: usize,
    /// Size of the backlog file (the queue's part on disk).
    #[serde(default)]
    pub backlog_bytes: u64,
    /// Commit time (µs since the Unix epoch) of the oldest change queued or in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_pending_us: Option<i64>,
    /// Age of the oldest committed change not yet accepted, in seconds; 0 when caught up
    /// (with `--heartbeat`: the age of the newest heartbeat, see [`Watch`]).
    #[serde(default)]
    pub lag_seconds: f64,
    /// Work is waiting and no call has succeeded for the stall timeout (see [`Watch`]).
    #[serde(default)]
    pub stalled: bool,
}

impl RunStatus {
    /// The run's state as of now.
    pub fn now(
        running: bool,
        spec: &StreamSpec,
        received: Lsn,
        confirmed: Lsn,
        tenants: Vec<TenantStatus>,
    ) -> RunStatus {
        RunStatus {
            pid: std::process::id(),
            updated_at: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            running,
            slot: spec.slot.clone(),
            publication: spec.publication.clone(),
            received_lsn: received.to_string(),
            confirmed_lsn: confirmed.to_string(),
            snapshot: None,
            backfills: Vec::new(),
            queue_memory: None,
            tenants,
            streaming: false,
            source: SourceStats::default(),
        }
    }
}

/// Microseconds since the Unix epoch, as commit times are given.
pub fn unix_micros(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// What one status needs of the ones before it: when each tenant last made progress (to tell a
/// stalled tenant) and the oldest change it held when it was quarantined.
///
/// A tenant is *stalled* when it has work queued or in flight and no call succeeded for
/// `stall_after` (the tenant had nothing to do, or a batch was accepted, counts as progress):
/// a sink that hangs, or retries a failing destination for ever, holds the slot's WAL and
/// would otherwise go unnoticed until the disk fills. One ERROR line names it when it becomes
/// stalled; `/readyz` fails and `conduit_tenant_stalled` is 1 until it moves again.
///
/// Everything here is derived from the tenants' status lines once a second: nothing is added
/// to the path of a change.
pub struct Watch {
    stall_after: Duration,
    seen: HashMap<String, Seen>,
}

struct Seen {
    batches: u64,
    progress: Instant,
    stalled: bool,
    oldest: Option<i64>,
}

impl Watch {
    pub fn new(stall_after: Duration) -> Watch {
        Watch {
            stall_after,
            seen: HashMap::new(),
        }
    }

    /// Fills in `stalled` and `lag_seconds` of each tenant of `status`, as of `now`.
    ///
    /// Lag in seconds is the age of the oldest change queued or in flight (a quarantined
    /// tenant keeps the one it had). A tenant with nothing pending has lag 0, unless heartbeats
    /// arrive (`--heartbeat`): then its lag is the age of the newest heartbeat received, which
    /// stays below the heartbeat interval plus the transport's latency while the stream moves
    /// and grows when it does not, even with idle tables.
    pub fn observe(&mut self, status: &mut RunStatus, now: Instant, now_us: i64) {
        let heartbeat = status.source.heartbeat_us;
        for t in &mut status.tenants {
            let active = t.state == "active";
            let seen = self.seen.entry(t.id.clone()).or_insert(Seen {
                batches: t.delivered_batches,
                progress: now,
                stalled: false,
                oldest: None,
            });
            let busy = active && (t.queued_changes > 0 || t.in_flight_changes > 0);
            if !busy || t.delivered_batches != seen.batches {
                seen.progress = now;
                seen.batches = t.delivered_batches;
            }
            t.stalled = busy && now.duration_since(seen.progress) >= self.stall_after;
            if t.stalled && !seen.stalled {
                tracing::error!(
                    tenant = %t.id,
                    "tenant stalled: {} changes wait and no call to its sink succeeded for {} s \
                     (its warnings say why: a slow, hung or failing sink or destination); it \
                     holds the slot's WAL, and /readyz fails until it moves",
                    t.queued_changes + t.in_flight_changes,
                    now.duration_since(seen.progress).as_secs()
                );
            } else if !t.stalled && seen.stalled {
                tracing::info!(tenant = %t.id, "tenant moves again");
            }
            seen.stalled = t.stalled;
            if active {
                seen.oldest = t.oldest_pending_us;
            }
            let since = match seen.oldest {
                Some(oldest) => Some(oldest),
                None if active => heartbeat,
                None => None,
            };
            t.lag_seconds = since.map_or(0.0, |us| (now_us - us).max(0) as f64 / 1e6);
        }
    }
}

pub fn status_path(state_dir: &Path, slot: &str) -> PathBuf {
    let slot: String = slot
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    state_dir.join(format!("status-{slot}.json"))
}

/// Replaces the status file atomically (no fsync: it is a report, not a guarantee).
pub fn write(state_dir: &Path, status: &RunStatus) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    let path = status_path(state_dir, &status.slot);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(status)?)?;
    std::fs::rename(tmp, path)
}

pub fn read(state_dir: &Path, slot: &str) -> std::io::Result<RunStatus> {
    let text = std::fs::read_to_string(status_path(state_dir, slot))?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}
