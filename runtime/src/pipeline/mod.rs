//! The pipeline: source → decode → assemble → route → batch → sink → checkpoint.
//!
//! One task owns the replication stream and everything that orders it. Tenants' sinks are called
//! on a pool of sink threads ([`pool`], [`worker`]); while sinks work, this loop keeps reading (up to each tenant's
//! queue bound), answers keepalives at once and sends a status update every second, so a slow
//! sink never makes the server drop us. Tenants progress independently; the slot's flush
//! position is the least of their positions.
//!
//! - [`run`](run()): connecting, reconnecting with backoff, the orderly end.
//! - `stream_loop`: one session's `select!` loop.
//! - `tenants` / `tenant`: fan-out, batches, answers and quarantine; one tenant's queue and
//!   position, changed only through its methods.
//! - [`backfill`]: the rows that already exist, read between watermarks while streaming.
//! - `durable`: group commit of positions into a [`PositionStore`](crate::checkpoint::PositionStore).
//! - [`status`]: the status file. [`worker`] / [`pool`] / [`sink`]: a tenant's sink calls and retries, on the shared sink threads.
//! - [`failpoint`]: named fault-injection points for in-process tests.

pub mod backfill;
mod backlog;
mod batcher;
pub mod budget;
mod durable;
pub mod failpoint;
mod pool;
mod run;
pub mod sink;
pub mod snapshot;
pub mod status;
mod stream_loop;
mod tenant;
mod tenants;
pub mod worker;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use batcher::{Batcher, ReadyBatch};
pub use budget::DEFAULT_QUEUE_MEMORY;
pub use pool::Pool;
pub use run::{run, InitialSnapshot, Summary};
pub use sink::Sink;
pub use tenant::{TenantSetup, TenantState};

use crate::checkpoint::{CheckpointStore, PositionStore, StreamId};
use crate::source::conninfo::ConnInfo;
use crate::source::setup::StreamSpec;

/// Opens the store of a stream's positions, once the first connection has named the stream.
pub type OpenStore = Arc<dyn Fn(&Path, StreamId) -> Arc<dyn PositionStore> + Send + Sync>;

/// The checkpoint file under the state directory (what a run uses unless a test says otherwise).
pub fn file_store() -> OpenStore {
    Arc::new(|state_dir, stream| Arc::new(CheckpointStore::new(state_dir, stream)))
}

/// Everything `run` needs besides the tenants.
#[derive(Clone)]
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
    /// A tenant with work waiting and no successful call for this long is stalled (see
    /// [`status::Watch`]).
    pub stall_after: Duration,
    /// Stop cleanly once the server has sent WAL up to here and every tenant has accepted all of
    /// it (like `pg_recvlogical --endpos`; for benchmarks and one-off catch-ups).
    pub stop_at: Option<crate::event::Lsn>,
    /// Bytes of not-yet-committed streamed transactions held in memory before they are spilled
    /// to `<state_dir>/spill`.
    pub stream_memory_bytes: usize,
    /// Memory for all tenants' queues together ([`budget`]); multi-tenant runs only.
    pub queue_memory_bytes: usize,
    /// Connections reading the initial snapshot's tables side by side (each in the same
    /// exported snapshot).
    pub snapshot_workers: usize,
    /// Tenants that have no position in an existing stream (added to the configuration) get
    /// the rows that already exist of every table they are granted, by backfill.
    pub backfill_new_tenants: bool,
    /// Tables whose initial snapshot an earlier run left unfinished, to complete by backfill
    /// for every tenant that sees them.
    pub resumed_snapshot: Vec<String>,
    /// Where positions are kept: [`file_store`] unless a test keeps them in memory.
    pub open_store: OpenStore,
    /// Fault-injection points (inert outside tests; see [`failpoint`]).
    pub failpoints: failpoint::Failpoints,
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
            stall_after: Duration::from_secs(60),
            stop_at: None,
            stream_memory_bytes: 32 << 20,
            queue_memory_bytes: DEFAULT_QUEUE_MEMORY,
            snapshot_workers: 2,
            backfill_new_tenants: true,
            resumed_snapshot: Vec::new(),
            open_store: file_store(),
            failpoints: failpoint::Failpoints::default(),
        }
    }
}
