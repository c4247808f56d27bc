//! The run's state, written to `<state_dir>/status-<slot>.json` every second and at exit, so that
//! `conduit-wasm status` (or any monitoring) can read it without talking to the process.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

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

#[derive(Debug, Clone, Serialize, Deserialize)]
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
