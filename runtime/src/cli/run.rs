//! `conduit-wasm run`: one sink from flags, or many tenants from `--config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::watch;

use super::parse_key_value;
use crate::config::{FileConfig, OnSlotLost, SnapshotMode};
use crate::error::{Quarantined, SetupError};
use crate::event::Lsn;
use crate::launch::{self, plans_from_file, RunSpec, SinkSource, TenantPlan};
use crate::pipeline::worker::RetryPolicy;
use crate::sandbox::{Capabilities, HttpOrigin, SinkLimits};
use crate::source::setup::StreamSpec;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sink component (.wasm). Not with --config.
    #[arg(required_unless_present = "config", conflicts_with = "config")]
    pub sink: Option<PathBuf>,
    /// A configuration file with one source and many tenants (see README).
    #[arg(long, conflicts_with_all = ["slot", "publication", "tables", "publish_via_partition_root", "sink_config", "memory_mib", "call_deadline_ms", "max_batch", "batch_wait_ms", "allow_http"])]
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
    /// Whether a publication we create publishes the changes of a partitioned table under the
    /// root table's name (publish_via_partition_root; PostgreSQL 13+) rather than each
    /// partition's [default: true].
    #[arg(long, value_name = "BOOL")]
    pub publish_via_partition_root: Option<bool>,
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
    /// Whether the rows that exist when the slot is created are delivered first, as reads:
    /// `initial` (then stream), `never`, or `initial-only` (then stop) [default: initial, or the
    /// config file's `snapshot`].
    #[arg(long, value_enum)]
    pub snapshot: Option<SnapshotMode>,
    /// When the server invalidated the slot (its WAL was removed) or the slot is gone: `fail`
    /// with what to do, or `resnapshot`: a new slot and a new initial snapshot, each table
    /// preceded by a truncate, so sinks see every row again [default: fail, or the config
    /// file's `on_slot_lost`].
    #[arg(long, value_enum)]
    pub on_slot_lost: Option<OnSlotLost>,
    /// Connections reading the initial snapshot's tables side by side [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub snapshot_workers: Option<u16>,
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
    /// Serve Prometheus metrics on http://ADDR/metrics, and /healthz and /readyz, e.g.
    /// 127.0.0.1:9977 [default: off, or the config file's `metrics_addr`].
    #[arg(long, value_name = "IP:PORT")]
    pub metrics_addr: Option<String>,
    /// Write a heartbeat into the WAL every SECS seconds (pg_logical_emit_message), so that
    /// lag in seconds is measured end to end while the tables are idle, and the slot moves on
    /// a server whose other databases are busy [default: off, or `heartbeat_interval`].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub heartbeat: Option<u64>,
    /// A tenant with changes waiting and no successful call for SECS seconds is stalled: an
    /// error names it, /readyz fails [default: 60, or `stall_timeout`].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub stall_timeout: Option<u64>,
}

fn parse_lsn(s: &str) -> Result<Lsn, String> {
    s.parse()
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

/// `--metrics-addr`, checked (one line that says what to give, not clap's usage text).
fn flag_addr(text: Option<&str>) -> Result<Option<SocketAddr>, SetupError> {
    text.map(|t| {
        crate::metrics::server::parse_addr(t)
            .map_err(|e| SetupError::new(format!("--metrics-addr {e}")))
    })
    .transpose()
}

fn from_flags(args: RunArgs, sink: PathBuf) -> Result<RunSpec, SetupError> {
    let state_dir = args.state_dir.unwrap_or_else(default_state_dir);
    let spec = StreamSpec {
        slot: args.slot.unwrap_or_else(|| "conduit".into()),
        publication_given: args.publication.is_some(),
        publication: args.publication.unwrap_or_else(|| "conduit".into()),
        tables: args.tables,
        via_root: args.publish_via_partition_root.unwrap_or(true),
    };
    let plans = vec![TenantPlan {
        id: Arc::from("default"),
        sink: SinkSource::Component(sink),
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
    }];
    Ok(RunSpec {
        stop_at: args.stop_at,
        stream_memory_mib: args.stream_memory_mib,
        record: args.record.map(|file| (Arc::from("default"), file)),
        snapshot: args.snapshot.unwrap_or_default(),
        snapshot_workers: args.snapshot_workers.map_or(2, usize::from),
        on_slot_lost: args.on_slot_lost.unwrap_or_default(),
        metrics_addr: flag_addr(args.metrics_addr.as_deref())?,
        heartbeat: args.heartbeat.map(Duration::from_secs),
        stall_after: Duration::from_secs(args.stall_timeout.unwrap_or(60)),
        ..RunSpec::new(args.source, spec, state_dir, plans)
    })
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
    let plans = plans_from_file(&file)?;
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
    let spec = StreamSpec {
        slot: file.slot.clone(),
        publication: file.publication_name(),
        publication_given: file.publication.is_some(),
        tables: file.tables.clone(),
        via_root: file.publish_via_partition_root,
    };
    Ok(RunSpec {
        max_wal_lag_bytes: file.max_wal_lag_mib << 20,
        multi_tenant: true,
        sink_threads: file.sink_threads.unwrap_or(0),
        queue_memory_bytes: file
            .queue_memory_mib
            .map_or(crate::pipeline::DEFAULT_QUEUE_MEMORY, |mib| mib << 20),
        stop_at: args.stop_at,
        stream_memory_mib: args.stream_memory_mib,
        record,
        snapshot: args.snapshot.or(file.snapshot).unwrap_or_default(),
        snapshot_workers: args
            .snapshot_workers
            .map(usize::from)
            .or(file.snapshot_workers)
            .unwrap_or(2),
        backfill_new_tenants: file.backfill_new_tenants.unwrap_or(true),
        on_slot_lost: args.on_slot_lost.or(file.on_slot_lost).unwrap_or_default(),
        metrics_addr: match flag_addr(args.metrics_addr.as_deref())? {
            Some(addr) => Some(addr),
            // Checked when the file was loaded.
            None => file.metrics_addr.as_deref().and_then(|t| t.parse().ok()),
        },
        heartbeat: args
            .heartbeat
            .or(file.heartbeat_interval)
            .map(Duration::from_secs),
        stall_after: Duration::from_secs(args.stall_timeout.or(file.stall_timeout).unwrap_or(60)),
        ..RunSpec::new(source, spec, state_dir, plans)
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
        (None, Some(sink)) => from_flags(args, sink)?,
        (None, None) => {
            return Err(SetupError::new("give a sink .wasm file or --config FILE").into())
        }
    };
    // First, so that a stop requested while sinks compile or the server is slow to answer is
    // still an orderly one.
    let (shutdown_tx, shutdown) = watch::channel(false);
    spawn_signal_handler(shutdown_tx)?;
    super::progress::spawn(run.state_dir.clone(), run.spec.slot.clone());
    let slot_name = run.spec.slot.clone();
    let summary = launch::run(run, shutdown).await;
    super::progress::clear();
    let summary = summary?;
    match summary.slot_confirmed {
        Some(slot) if slot < summary.confirmed => tracing::warn!(
            transactions = summary.transactions,
            "stopped; confirmed {} but the slot reports {slot}: the server did not take our last \
             position. Nothing is lost or delivered twice (the checkpoint holds {0}); the slot \
             keeps the WAL after {slot} until the next run confirms it",
            summary.confirmed
        ),
        slot => tracing::info!(
            transactions = summary.transactions,
            "stopped; confirmed {} (slot reports {})",
            summary.confirmed,
            slot.map(|l| l.to_string())
                .unwrap_or_else(|| "nothing".into())
        ),
    }
    let many = summary.tenants.len() > 20;
    for t in &summary.tenants {
        match &t.reason {
            None if many => tracing::debug!(
                tenant = %t.id,
                "{}: {} changes in {} batches, position {}",
                t.state, t.delivered_changes, t.delivered_batches, t.position_lsn
            ),
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
    if many {
        let changes: u64 = summary.tenants.iter().map(|t| t.delivered_changes).sum();
        tracing::info!(
            "{} tenants: {changes} changes delivered in all",
            summary.tenants.len()
        );
    }
    let quarantined: Vec<&str> = summary
        .tenants
        .iter()
        .filter(|t| t.reason.is_some())
        .map(|t| t.id.as_str())
        .collect();
    if !quarantined.is_empty() {
        return Err(Quarantined::new(&quarantined, summary.tenants.len(), &slot_name).into());
    }
    Ok(())
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
