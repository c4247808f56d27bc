//! The pipeline: source → decode → assemble → route → batch → sink → checkpoint.
//!
//! One task owns the replication stream and everything that orders it. Each tenant's sink runs on
//! its own thread ([`crate::sandbox::worker`]); while sinks work, this loop keeps reading (up to
//! each tenant's queue bound), answers keepalives at once and sends a status update every second,
//! so a slow sink never makes the server drop us. Tenants progress independently; the slot's
//! flush position is the least of their positions.

mod backlog;
mod batcher;
mod durable;
mod session;
pub mod status;
mod tenant;

use std::path::PathBuf;
use std::time::Duration;

pub use batcher::{Batcher, ReadyBatch};
pub use session::{run, Summary};
pub use tenant::{TenantSetup, TenantState};

use crate::source::conninfo::ConnInfo;
use crate::source::setup::StreamSpec;

/// Everything `run` needs besides the tenants.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub conn: ConnInfo,
    pub spec: StreamSpec,
    pub state_dir: PathBuf,
    pub status_interval: Duration,
    /// A failing tenant is quarantined and the others go on (multi-tenant), rather than the run
    /// stopping (the single-sink CLI).
    pub quarantine: bool,
    /// Warn when a tenant holds the slot back by more WAL than this.
    pub max_wal_lag_bytes: u64,
    /// Stop cleanly once the server has sent WAL up to here and every tenant has accepted all of
    /// it (like `pg_recvlogical --endpos`; for benchmarks and one-off catch-ups).
    pub stop_at: Option<crate::event::Lsn>,
    /// Bytes of not-yet-committed streamed transactions held in memory before they are spilled
    /// to `<state_dir>/spill`.
    pub stream_memory_bytes: usize,
}

impl PipelineConfig {
    pub fn new(conn: ConnInfo, spec: StreamSpec, state_dir: PathBuf) -> PipelineConfig {
        PipelineConfig {
            conn,
            spec,
            state_dir,
            status_interval: Duration::from_secs(1),
            quarantine: false,
            max_wal_lag_bytes: 1 << 30,
            stop_at: None,
            stream_memory_bytes: 32 << 20,
        }
    }
}
