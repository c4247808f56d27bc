//! Starting a pipeline from a parsed configuration: the library entry point.
//!
//! [`run`] does what `conduit-wasm run` does between parsing its flags and printing its
//! summary: check every sink file, check the source and every grant, create the publication and
//! the slot, compile every distinct sink once and start each tenant's sink on the sink threads, and stream
//! until stopped.
//! The CLI only builds a [`RunSpec`] (from flags or a config file) and calls it; in-process tests
//! call it too, with in-process sinks ([`SinkSource::InProcess`]) and positions kept in memory.

pub mod demo;
mod limits;
mod plan;
mod snapshot;
mod workers;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

pub use crate::config::{OnSlotLost, SnapshotMode};
pub use limits::check_process_limits;
pub use plan::{check_grants, plans_from_file, LinkedSinks, MakeSink, SinkSource, TenantPlan};

use crate::event::Lsn;
use crate::pipeline::{self, failpoint::Failpoints, OpenStore, PipelineConfig, Summary};
use crate::source::conninfo::ConnInfo;
use crate::source::setup::{self, StreamSpec};

/// What a run streams, from either the flags or the file.
pub struct RunSpec {
    /// The source's URL; `None` starts a scratch PostgreSQL with a demo table.
    pub source: Option<String>,
    pub spec: StreamSpec,
    pub state_dir: PathBuf,
    pub max_wal_lag_bytes: u64,
    pub plans: Vec<TenantPlan>,
    /// Several tenants from a config file: a failing one is quarantined, a sink that cannot
    /// start quarantines its tenant instead of failing the run.
    pub multi_tenant: bool,
    /// Threads calling into sinks; 0: the default (see [`workers::sink_threads`]).
    pub sink_threads: usize,
    /// Memory for all tenants' queues together, in bytes (see [`PipelineConfig`]).
    pub queue_memory_bytes: usize,
    pub stop_at: Option<Lsn>,
    pub stream_memory_mib: usize,
    /// `--record`: the tenant whose accepted batches are recorded, and the file.
    pub record: Option<(Arc<str>, PathBuf)>,
    /// Where positions are kept ([`pipeline::file_store`] in production).
    pub open_store: OpenStore,
    /// Fault-injection points for in-process tests (inert otherwise).
    pub failpoints: Failpoints,
    /// Whether the rows that already exist are delivered first (when the slot is created).
    pub snapshot: SnapshotMode,
    /// Connections reading the snapshot's tables side by side.
    pub snapshot_workers: usize,
    /// Tenants new to an existing stream get its existing rows (see [`PipelineConfig`]).
    pub backfill_new_tenants: bool,
    /// What to do when the slot was invalidated or dropped.
    pub on_slot_lost: OnSlotLost,
    /// Where metrics and health are served (`--metrics-addr`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How often a heartbeat is written into the WAL (`--heartbeat`).
    pub heartbeat: Option<std::time::Duration>,
    /// When a tenant counts as stalled (`--stall-timeout`).
    pub stall_after: std::time::Duration,
}

impl RunSpec {
    /// A run of `plans` from `spec` with the defaults of the CLI.
    pub fn new(
        source: Option<String>,
        spec: StreamSpec,
        state_dir: PathBuf,
        plans: Vec<TenantPlan>,
    ) -> RunSpec {
        RunSpec {
            source,
            spec,
            state_dir,
            max_wal_lag_bytes: 1 << 30,
            plans,
            multi_tenant: false,
            sink_threads: 0,
            queue_memory_bytes: pipeline::DEFAULT_QUEUE_MEMORY,
            stop_at: None,
            stream_memory_mib: 32,
            record: None,
            open_store: pipeline::file_store(),
            failpoints: Failpoints::default(),
            snapshot: SnapshotMode::default(),
            snapshot_workers: 2,
            backfill_new_tenants: true,
            on_slot_lost: OnSlotLost::default(),
            metrics_addr: None,
            heartbeat: None,
            stall_after: std::time::Duration::from_secs(60),
        }
    }
}

/// Runs a pipeline until `shutdown` turns true, `stop_at` is reached, or something fails that
/// retrying cannot fix.
///
/// The order matters. What can be checked without the database (each sink file, without
/// compiling it; the recording file) comes first, so that a typo creates no slot. Then the
/// publication and the slot, and only then the sinks are compiled and connected: compiling takes
/// from a fraction of a second to 20 s and more (a Python sink), and a change committed before
/// the slot exists is never delivered (issue 14 item 16: a row inserted during a 5 s compile was
/// lost). A slot this run created is dropped again when a sink then fails to start.
pub async fn run(run: RunSpec, shutdown: watch::Receiver<bool>) -> anyhow::Result<Summary> {
    // First: a port in use is a mistake to report before anything is created.
    if let Some(addr) = run.metrics_addr {
        crate::metrics::server::serve(addr).await?;
    }
    for plan in &run.plans {
        plan.precheck()?;
    }
    let stdout_files = run
        .plans
        .iter()
        .filter(|p| p.capabilities.output.file().is_some())
        .count();
    check_process_limits(run.plans.len(), stdout_files)?;
    let recorder = workers::open_recording(run.record.as_ref())?;

    // Without a source, a scratch cluster with a demo workload (kept alive until we return).
    let (_scratch, url) = match &run.source {
        Some(url) => (None, url.clone()),
        None => {
            let scratch = demo::start().await?;
            let url = scratch.url();
            (Some(scratch), url)
        }
    };
    let conn = ConnInfo::parse(&url)?;
    let client = setup::connect_sql(&conn).await?;
    setup::preflight(&client, &conn, &run.spec).await?;
    let routers = check_grants(&client, &run.spec, &run.plans).await?;
    // Slot lag samples and heartbeats, on a connection of their own; ends when the run does.
    let _sampler =
        crate::metrics::sampler::spawn(conn.clone(), run.spec.slot.clone(), run.heartbeat);

    let stream = setup::stream_id(&client, &run.spec.slot).await?;
    let store = (run.open_store)(&run.state_dir, stream);
    let prepared = snapshot::prepare(
        &client,
        &conn,
        &run.spec,
        &run.state_dir,
        &*store,
        run.snapshot,
        run.on_slot_lost,
    )
    .await?;
    drop(store);

    let (outcome_tx, outcomes) = mpsc::unbounded_channel();
    let setups = workers::start_tenants(&run, routers, recorder, outcome_tx).await;
    let setups = match setups {
        Ok(setups) => setups,
        Err(e) => {
            if prepared.created {
                snapshot::drop_created_slot(&client, &run.spec, &run.state_dir, prepared).await;
            }
            return Err(e.into());
        }
    };

    let mut cfg = PipelineConfig::new(conn, run.spec, run.state_dir);
    cfg.quarantine = run.multi_tenant;
    cfg.queue_memory_bytes = run.queue_memory_bytes;
    cfg.max_wal_lag_bytes = run.max_wal_lag_bytes;
    cfg.stall_after = run.stall_after;
    cfg.stop_at = run.stop_at;
    cfg.stream_memory_bytes = run.stream_memory_mib << 20;
    cfg.open_store = run.open_store;
    cfg.failpoints = run.failpoints;
    cfg.snapshot_workers = run.snapshot_workers.max(1);
    cfg.backfill_new_tenants = run.backfill_new_tenants;
    cfg.resumed_snapshot = prepared.resumed;
    pipeline::run(&cfg, client, setups, outcomes, shutdown, prepared.initial).await
}
