//! `conduit-wasm run`: one sink from flags, or many tenants from `--config`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::{mpsc, watch};

use super::demo;
use super::tenants::{self, TenantPlan};
use crate::checkpoint::CheckpointStore;
use crate::config::FileConfig;
use crate::error::SetupError;
use crate::event::Lsn;
use crate::pipeline::{self, PipelineConfig, TenantSetup};
use crate::record::Recorder;
use crate::sandbox::worker::{RetryPolicy, SinkWorker};
use crate::sandbox::{Capabilities, HttpOrigin, SandboxEngine, SinkLimits};
use crate::source::conninfo::ConnInfo;
use crate::source::setup::{self, StreamSpec};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sink component (.wasm). Not with --config.
    #[arg(required_unless_present = "config", conflicts_with = "config")]
    pub sink: Option<PathBuf>,
    /// A configuration file with one source and many tenants (see README).
    #[arg(long, conflicts_with_all = ["slot", "publication", "tables", "sink_config", "memory_mib", "call_deadline_ms", "max_batch", "batch_wait_ms", "allow_http"])]
    pub config: Option<PathBuf>,
    /// PostgreSQL URL, e.g. postgres://user:password@host:5432/db. Without it (and without one
    /// in --config), a scratch local PostgreSQL with a demo table is started.
    #[arg(long, env = "CONDUIT_SOURCE")]
    pub source: Option<String>,
    /// Logical replication slot to stream from (created if missing).
    #[arg(long)]
    pub slot: Option<String>,
    /// Publication to stream (created if missing).
    #[arg(long)]
    pub publication: Option<String>,
    /// Tables for a publication we create (schema.table or table); default all tables.
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Where checkpoints, the status file and the compiled-component cache live.
    #[arg(long, env = "CONDUIT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Configuration passed to the sink's `connect`, as key=value (repeatable).
    #[arg(long = "sink-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub sink_config: Vec<(String, String)>,
    /// Memory cap of the sink instance, in MiB [default: 256].
    #[arg(long)]
    pub memory_mib: Option<usize>,
    /// CPU deadline of one sink call, in milliseconds [default: 30000].
    #[arg(long)]
    pub call_deadline_ms: Option<u64>,
    /// Most changes per publish call [default: 1000].
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// How long a publish call short of --max-batch may wait for more changes, in milliseconds;
    /// 0 sends each transaction as soon as the sink is free [default: 1].
    #[arg(long)]
    pub batch_wait_ms: Option<u64>,
    /// Let the sink send HTTP requests to this origin, e.g. https://api.example.com or
    /// http://127.0.0.1:8080 (repeatable); requests to any other origin are refused.
    #[arg(long = "allow-http", value_name = "ORIGIN", value_parser = HttpOrigin::parse)]
    pub allow_http: Vec<HttpOrigin>,
    /// Stop cleanly once everything up to this WAL position (X/X) is delivered, like
    /// `pg_recvlogical --endpos`.
    #[arg(long, value_parser = parse_lsn)]
    pub stop_at: Option<Lsn>,
    /// Memory for large in-progress transactions (streamed by PostgreSQL 14+) before they are
    /// spilled to <state-dir>/spill, in MiB.
    #[arg(long, default_value_t = 32)]
    pub stream_memory_mib: usize,
    /// Append every batch the sink accepted to this events file, the format `conduit-wasm test
    /// --events` replays (an existing recording is continued). With --config, name the tenant
    /// with --record-tenant.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// The tenant whose accepted batches --record writes, in a --config run: each tenant sees its
    /// own grants' view of the stream, and one file holds one sink's input.
    #[arg(long, value_name = "ID", requires = "record", conflicts_with = "sink")]
    pub record_tenant: Option<String>,
}

fn parse_lsn(s: &str) -> Result<Lsn, String> {
    s.parse()
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("conduit-wasm");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/state/conduit-wasm");
    }
    PathBuf::from(".conduit-wasm")
}

/// What a run streams, from either the flags or the file.
struct RunSpec {
    source: Option<String>,
    spec: StreamSpec,
    state_dir: PathBuf,
    max_wal_lag_bytes: u64,
    plans: Vec<TenantPlan>,
    multi_tenant: bool,
    stop_at: Option<Lsn>,
    stream_memory_mib: usize,
    /// `--record`: the tenant whose accepted batches are recorded, and the file.
    record: Option<(Arc<str>, PathBuf)>,
}

fn from_flags(args: RunArgs, sink: PathBuf) -> RunSpec {
    let state_dir = args.state_dir.unwrap_or_else(default_state_dir);
    RunSpec {
        source: args.source,
        spec: StreamSpec {
            slot: args.slot.unwrap_or_else(|| "conduit".into()),
            publication: args.publication.unwrap_or_else(|| "conduit".into()),
            tables: args.tables,
        },
        state_dir,
        max_wal_lag_bytes: 1 << 30,
        plans: vec![TenantPlan {
            id: Arc::from("default"),
            sink,
            config: args.sink_config,
            limits: SinkLimits {
                memory_bytes: args.memory_mib.unwrap_or(256) << 20,
                call_deadline: Duration::from_millis(args.call_deadline_ms.unwrap_or(30_000)),
            },
            capabilities: Capabilities {
                http_origins: args.allow_http,
                ..Capabilities::single_sink()
            },
            grants: None,
            max_batch: args.max_batch.unwrap_or(1000),
            batch_wait: Duration::from_millis(
                args.batch_wait_ms
                    .unwrap_or(crate::config::DEFAULT_BATCH_WAIT_MS),
            ),
            max_queue: 100_000,
            retry: RetryPolicy::default(),
        }],
        multi_tenant: false,
        stop_at: args.stop_at,
        stream_memory_mib: args.stream_memory_mib,
        record: args.record.map(|file| (Arc::from("default"), file)),
    }
}

fn from_file(args: RunArgs, path: &Path) -> Result<RunSpec, SetupError> {
    let file = FileConfig::load(path)?;
    let source = match args.source {
        Some(url) => Some(url),
        None => file.source_url()?,
    };
    let state_dir = args
        .state_dir
        .or_else(|| file.state_dir.clone())
        .unwrap_or_else(default_state_dir);
    let plans = tenants::plans_from_file(&file)?;
    let record = match (args.record, args.record_tenant) {
        (Some(file), Some(id)) => Some((recorded_tenant(&plans, &id, path)?, file)),
        (Some(_), None) => {
            return Err(SetupError::new(format!(
                "--record with --config records one tenant: add --record-tenant ID (one of {})",
                tenant_ids(&plans)
            )))
        }
        (None, _) => None,
    };
    Ok(RunSpec {
        source,
        spec: StreamSpec {
            slot: file.slot.clone(),
            publication: file.publication.clone(),
            tables: file.tables.clone(),
        },
        state_dir,
        max_wal_lag_bytes: file.max_wal_lag_mib << 20,
        plans,
        multi_tenant: true,
        stop_at: args.stop_at,
        stream_memory_mib: args.stream_memory_mib,
        record,
    })
}

fn recorded_tenant(plans: &[TenantPlan], id: &str, config: &Path) -> Result<Arc<str>, SetupError> {
    match plans.iter().find(|p| &*p.id == id) {
        Some(plan) => Ok(plan.id.clone()),
        None => Err(SetupError::new(format!(
            "--record-tenant {id:?}: {} has no such tenant (its tenants: {})",
            config.display(),
            tenant_ids(plans)
        ))),
    }
}

fn tenant_ids(plans: &[TenantPlan]) -> String {
    let ids: Vec<&str> = plans.iter().map(|p| &*p.id).collect();
    ids.join(", ")
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let run = match (args.config.clone(), args.sink.clone()) {
        (Some(path), _) => from_file(args, &path)?,
        (None, Some(sink)) => from_flags(args, sink),
        (None, None) => {
            return Err(SetupError::new("give a sink .wasm file or --config FILE").into())
        }
    };
    // First, so that a stop requested while sinks compile or the server is slow to answer is
    // still an orderly one.
    let (shutdown_tx, shutdown) = watch::channel(false);
    spawn_signal_handler(shutdown_tx)?;
    // Check every sink before touching the database: a typo in a path should not create a slot.
    let engine = SandboxEngine::new(Some(&run.state_dir.join("cache")))?;
    let mut instances = Vec::new();
    for plan in &run.plans {
        instances.push(plan.instance(&engine)?);
    }
    let mut recorder = open_recording(run.record.as_ref())?;

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
    let routers = tenants::check_grants(&client, &run.spec, &run.plans).await?;

    // Each sink's own `connect` runs before the slot is created, so a sink that rejects its
    // configuration fails a single-sink run without side effects.
    let (outcome_tx, outcomes) = mpsc::unbounded_channel();
    let mut setups = Vec::new();
    for ((plan, instance), router) in run.plans.iter().zip(instances).zip(routers) {
        let recording = recorder.take_if(|(id, _)| *id == plan.id).map(|(_, r)| r);
        let worker = start_worker(plan, instance, outcome_tx.clone(), recording).await;
        let worker = match worker {
            Ok(w) => Ok(w),
            Err(e) if run.multi_tenant => Err(e),
            Err(e) => return Err(SetupError::new(format!("{}: {e}", plan.sink.display())).into()),
        };
        setups.push(TenantSetup {
            id: plan.id.clone(),
            router,
            worker,
            max_batch: plan.max_batch,
            batch_wait: plan.batch_wait,
            max_queue: plan.max_queue,
        });
    }
    drop(outcome_tx);
    let stream = setup::stream_id(&client, &run.spec.slot).await?;
    let checkpoint = CheckpointStore::new(&run.state_dir, stream);
    setup::ensure_publication_and_slot(&client, &run.spec, &checkpoint).await?;

    let mut cfg = PipelineConfig::new(conn, run.spec, run.state_dir);
    cfg.quarantine = run.multi_tenant;
    cfg.max_wal_lag_bytes = run.max_wal_lag_bytes;
    cfg.stop_at = run.stop_at;
    cfg.stream_memory_bytes = run.stream_memory_mib << 20;
    let summary = pipeline::run(&cfg, client, setups, outcomes, shutdown).await?;
    tracing::info!(
        transactions = summary.transactions,
        "stopped; confirmed {} (slot reports {})",
        summary.confirmed,
        summary
            .slot_confirmed
            .map(|l| l.to_string())
            .unwrap_or_else(|| "nothing".into())
    );
    for t in &summary.tenants {
        match &t.reason {
            None => tracing::info!(
                tenant = %t.id,
                "{}: {} changes in {} batches, position {}",
                t.state, t.delivered_changes, t.delivered_batches, t.position_lsn
            ),
            Some(reason) => tracing::warn!(
                tenant = %t.id,
                "{}: {} changes in {} batches, position {}: {reason}",
                t.state, t.delivered_changes, t.delivered_batches, t.position_lsn
            ),
        }
    }
    Ok(())
}

/// Opens the `--record` file before anything touches the database, so that a bad path fails
/// the run without side effects.
fn open_recording(
    record: Option<&(Arc<str>, PathBuf)>,
) -> Result<Option<(Arc<str>, Recorder)>, SetupError> {
    let Some((tenant, file)) = record else {
        return Ok(None);
    };
    let recorder =
        Recorder::append_to(file).map_err(|e| SetupError::new(format!("--record: {e}")))?;
    tracing::info!(
        tenant = &**tenant,
        "recording accepted batches to {} ({} already in it)",
        file.display(),
        recorder.batches()
    );
    Ok(Some((tenant.clone(), recorder)))
}

/// Starts a sink's thread and waits for its `connect`.
async fn start_worker(
    plan: &TenantPlan,
    instance: crate::sandbox::SinkInstance,
    outcomes: mpsc::UnboundedSender<crate::sandbox::worker::Outcome>,
    recorder: Option<Recorder>,
) -> Result<SinkWorker, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let worker = SinkWorker::spawn(
        &plan.id,
        instance,
        plan.retry.clone(),
        outcomes,
        ready_tx,
        recorder,
    )
    .map_err(|e| format!("starting the sink thread: {e}"))?;
    match tokio::task::spawn_blocking(move || ready_rx.recv()).await {
        Ok(Ok(Ok(()))) => Ok(worker),
        Ok(Ok(Err(e))) => Err(e),
        _ => Err("the sink thread stopped before connecting".into()),
    }
}

fn spawn_signal_handler(tx: watch::Sender<bool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(true);
    });
    Ok(())
}
