//! `conduit-wasm run`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::sync::{mpsc, watch};

use super::demo;
use crate::error::SetupError;
use crate::pipeline::{self, PipelineConfig};
use crate::sandbox::worker::SinkWorker;
use crate::sandbox::{inspect_file, Capabilities, SandboxEngine, SinkInstance, SinkLimits};
use crate::source::conninfo::ConnInfo;
use crate::source::setup::StreamSpec;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sink component (.wasm).
    pub sink: PathBuf,
    /// PostgreSQL URL, e.g. postgres://user:password@host:5432/db. Without it, a scratch local
    /// PostgreSQL with a demo table is started.
    #[arg(long, env = "CONDUIT_SOURCE")]
    pub source: Option<String>,
    /// Logical replication slot to stream from (created if missing).
    #[arg(long, default_value = "conduit")]
    pub slot: String,
    /// Publication to stream (created if missing).
    #[arg(long, default_value = "conduit")]
    pub publication: String,
    /// Tables for a publication we create (schema.table or table); default all tables.
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Where checkpoints and the compiled-component cache live.
    #[arg(long, env = "CONDUIT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Configuration passed to the sink's `connect`, as key=value (repeatable).
    #[arg(long = "sink-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub sink_config: Vec<(String, String)>,
    /// Memory cap of the sink instance, in MiB.
    #[arg(long, default_value_t = 256)]
    pub memory_mib: usize,
    /// CPU deadline of one sink call, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub call_deadline_ms: u64,
    /// Most changes per publish call.
    #[arg(long, default_value_t = 1000)]
    pub max_batch: usize,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("conduit-wasm");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/state/conduit-wasm");
    }
    PathBuf::from(".conduit-wasm")
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    // Check the sink before touching the database: a typo in a path should not create a slot.
    let engine = SandboxEngine::new(Some(&state_dir.join("cache")))?;
    let (component, _) = inspect_file(&engine, &args.sink)?;
    let instance = SinkInstance::new(
        &engine,
        &component,
        SinkLimits {
            memory_bytes: args.memory_mib << 20,
            call_deadline: Duration::from_millis(args.call_deadline_ms),
        },
        Capabilities::single_sink(),
        args.sink_config.clone(),
    )
    .map_err(|e| SetupError::new(format!("{}: {e:#}", args.sink.display())))?;

    let (shutdown_tx, shutdown) = watch::channel(false);
    spawn_signal_handler(shutdown_tx)?;

    // Without a source, a scratch cluster with a demo workload (kept alive until we return).
    let (_scratch, url) = match &args.source {
        Some(url) => (None, url.clone()),
        None => {
            let scratch = demo::start(&state_dir).await?;
            let url = scratch.url();
            (Some(scratch), url)
        }
    };
    let conn = ConnInfo::parse(&url)?;
    let spec = StreamSpec {
        slot: args.slot.clone(),
        publication: args.publication.clone(),
        tables: args.tables.clone(),
    };
    let mut cfg = PipelineConfig::new(conn, spec, state_dir);
    cfg.max_batch_changes = args.max_batch;

    // The sink's own `connect` runs first, so a sink that rejects its configuration fails the
    // run before any slot is created.
    let (outcome_tx, outcomes) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let worker = SinkWorker::spawn("sink", instance, cfg.retry.clone(), outcome_tx, ready_tx)
        .context("starting the sink thread")?;
    let ready = tokio::task::spawn_blocking(move || ready_rx.recv()).await?;
    match ready {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(SetupError::new(format!(
                "{}: sink connect failed: {e}",
                args.sink.display()
            ))
            .into())
        }
        Err(_) => anyhow::bail!("the sink thread stopped before connecting"),
    }

    let summary = pipeline::run(&cfg, worker, outcomes, shutdown).await?;
    tracing::info!(
        transactions = summary.transactions,
        changes = summary.changes,
        batches = summary.batches,
        "stopped; confirmed {} (slot reports {})",
        summary.confirmed,
        summary
            .slot_confirmed
            .map(|l| l.to_string())
            .unwrap_or_else(|| "nothing".into())
    );
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
