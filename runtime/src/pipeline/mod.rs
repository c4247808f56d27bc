//! The pipeline: source → decode → assemble → batch → sink → checkpoint, for one sink.
//!
//! One task owns the replication stream and everything that orders it. The sink runs on its own
//! thread ([`crate::sandbox::worker`]); while it works, this loop keeps reading (up to a bound),
//! answers keepalives at once and sends a status update every second, so a slow sink never makes
//! the server drop us.

mod batcher;
mod session;

use std::path::PathBuf;
use std::time::Duration;

pub use batcher::{Batcher, ReadyBatch};
pub use session::{run, Summary};

use crate::sandbox::worker::RetryPolicy;
use crate::source::conninfo::ConnInfo;
use crate::source::setup::StreamSpec;

/// Everything `run` needs besides the sink.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub conn: ConnInfo,
    pub spec: StreamSpec,
    pub state_dir: PathBuf,
    /// Most changes in one `publish` call.
    pub max_batch_changes: usize,
    /// Most changes of committed transactions held while the sink is busy; past it we stop
    /// reading from the server (it keeps the WAL) until the sink catches up.
    pub max_queued_changes: usize,
    pub status_interval: Duration,
    pub retry: RetryPolicy,
}

impl PipelineConfig {
    pub fn new(conn: ConnInfo, spec: StreamSpec, state_dir: PathBuf) -> PipelineConfig {
        PipelineConfig {
            conn,
            spec,
            state_dir,
            max_batch_changes: 1000,
            max_queued_changes: 100_000,
            status_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        }
    }
}
