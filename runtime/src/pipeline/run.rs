//! A pipeline run: connecting and reconnecting, one streaming session after another, and the
//! orderly end (the slot confirmed, the sinks closed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};

use super::backfill::{control, Backfills};
use super::durable::DurableWriter;
use super::snapshot::{self, SnapshotEnd, SnapshotSource};
use super::status::TenantStatus;
use super::stream_loop::{Loop, SessionEnd};
use super::tenant::TenantSetup;
use super::tenants::Tenants;
use super::worker::Outcome;
use super::PipelineConfig;
use crate::assemble::{Assembler, RelationInfo, TypeRegistry};
use crate::checkpoint::StreamId;
use crate::error::SetupError;
use crate::event::Lsn;
use crate::source::catalog::load_types;
use crate::source::replication as repl;
use crate::source::setup;
use crate::source::snapshot::Exported;
use crate::source::wire::{ServerError, WireError};

/// What a run did, printed when it ends.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub transactions: u64,
    /// The position confirmed to the server last.
    pub confirmed: Lsn,
    /// The slot's position as the server reported it after the final status update.
    pub slot_confirmed: Option<Lsn>,
    pub tenants: Vec<TenantStatus>,
}

/// A slot just created with its snapshot exported, and the tables to read in it.
pub struct InitialSnapshot {
    pub exported: Exported,
    pub tables: Vec<Arc<RelationInfo>>,
    /// Stop once the snapshot is delivered (`--snapshot initial-only`).
    pub only: bool,
    /// An earlier run's snapshot was interrupted: sinks may hold some of its rows, and rows
    /// deleted since would linger, so each table is reset (a `truncate`) before the new reads.
    pub restarted: bool,
}

/// Streams until `shutdown` turns true (then exits cleanly) or something fails that retrying
/// cannot fix. `client` is the SQL connection setup used (publication and slot must exist).
/// With `snapshot`, the rows it sees are delivered first, as reads.
pub async fn run(
    cfg: &PipelineConfig,
    client: tokio_postgres::Client,
    tenants: Vec<TenantSetup>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    mut shutdown: watch::Receiver<bool>,
    mut snapshot: Option<InitialSnapshot>,
) -> anyhow::Result<Summary> {
    let mut types = TypeRegistry::default();
    load_types(&client, &mut types, None).await?;
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .context("reading the server version")?
        .get(0);
    // pgoutput v2 (streaming of large transactions) on PostgreSQL 14+.
    let protocol = if version >= 140000 { 2 } else { 1 };
    let mut setups = Some(tenants);
    let backfills = Backfills::load(&cfg.state_dir, &cfg.spec.slot, cfg.conn.clone())?;
    let mut state = Loop::new(
        cfg,
        client,
        Assembler::new(types),
        protocol,
        Tenants::new(
            Vec::new(),
            &Default::default(),
            &cfg.state_dir,
            cfg.quarantine,
        ),
        outcomes,
        backfills,
    );
    // `conduit-wasm backfill` asks through this socket (removed when the run ends).
    let socket = control::socket_path(&cfg.state_dir, &cfg.spec.slot);
    let _socket = match control::listen(&socket) {
        Ok((requests, guard)) => {
            state.requests = Some(requests);
            Some(guard)
        }
        Err(e) => {
            tracing::warn!(
                "cannot listen on {} ({e}): `conduit-wasm backfill` will not reach this run",
                socket.display()
            );
            None
        }
    };
    let mut backoff = Backoff::default();
    loop {
        let connected = match snapshot.as_mut() {
            // The exporting connection: its snapshot lives until it sends another command.
            Some(s) => s
                .exported
                .take_conn()
                .map(|conn| (conn, s.exported.system.clone())),
            None => repl::connect(&cfg.conn).await,
        };
        let (conn, system) = match connected {
            Ok(c) => c,
            Err(WireError::Setup(e)) => return Err(e.into()),
            Err(WireError::Unreachable(e)) if setups.is_some() => return Err(e.into()),
            // A server restarting refuses connections for a while (57P03: starting up, shutting
            // down, in recovery), and a busy one may have no connection slot free (53300).
            Err(WireError::Server(e)) if !matches!(e.code.as_str(), "57P03" | "53300") => {
                return Err(e.into())
            }
            Err(e) if setups.is_none() => {
                if backoff.wait(&mut shutdown, e).await {
                    break;
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if state.client.is_closed() {
            // The server restarted: the SQL connection (for type lookups) went with it.
            match setup::connect_sql(&cfg.conn).await {
                Ok(client) => state.client = client,
                Err(e) => {
                    if backoff.wait(&mut shutdown, e).await {
                        break;
                    }
                    continue;
                }
            }
        }
        if let Some(setups) = setups.take() {
            // The first connection names the stream, and so where its positions are kept.
            let stream = StreamId {
                system_id: system.system_id.clone(),
                database: system.database.clone(),
                slot: cfg.spec.slot.clone(),
            };
            let store = (cfg.open_store)(&cfg.state_dir, stream);
            let stored = store.load()?;
            let backlog_dir = cfg.state_dir.join("backlog").join(&cfg.spec.slot);
            // Tenants added to the configuration of a stream that already has positions.
            let new: Vec<String> = setups
                .iter()
                .filter(|t| !stored.contains_key(&*t.id))
                .map(|t| t.id.to_string())
                .collect();
            state.tenants = Tenants::new(setups, &stored, &backlog_dir, cfg.quarantine);
            tracing::info!(checkpoint = %store.location(), "positions");
            state.open_store(DurableWriter::new(store, cfg.failpoints.clone()));
            let resumed = !cfg.resumed_snapshot.is_empty();
            let existing = resumed || (!stored.is_empty() && snapshot.is_none());
            let new = if existing && cfg.backfill_new_tenants {
                new
            } else {
                Vec::new()
            };
            if !new.is_empty() {
                state.plan_backfills(&new, None, "new tenant").await?;
            }
            if resumed {
                let mut tenants = state.tenants.ids();
                tenants.retain(|t| !new.contains(t));
                let tables = cfg.resumed_snapshot.clone();
                state
                    .plan_backfills(&tenants, Some(&tables), "interrupted snapshot")
                    .await?;
                snapshot::completed(&cfg.state_dir, &cfg.spec.slot);
            }
            // Tenants that were here before and have been granted a table since.
            let old: Vec<String> = state
                .tenants
                .ids()
                .into_iter()
                .filter(|t| stored.contains_key(t) && !new.contains(t))
                .collect();
            state
                .plan_new_grants(&old, existing && cfg.backfill_new_tenants)
                .await?;
            state.start_backfills().await;
        }
        if let Some(s) = snapshot.take() {
            let only = s.only;
            let source = SnapshotSource {
                conn: cfg.conn.clone(),
                snapshot: s.exported.snapshot.clone(),
                consistent_point: s.exported.consistent_point,
                taken_at: s.exported.taken_at,
                tables: s.tables,
                restarted: s.restarted,
                split_tables: protocol >= 2,
            };
            match state.snapshot(source, &mut shutdown).await? {
                SnapshotEnd::Stopped => break,
                SnapshotEnd::Complete if only => {
                    snapshot::completed(&cfg.state_dir, &cfg.spec.slot);
                    tracing::info!("--snapshot initial-only: the snapshot is delivered; stopping");
                    break;
                }
                SnapshotEnd::Complete => snapshot::completed(&cfg.state_dir, &cfg.spec.slot),
            }
        }
        let start = state.tenants.slot_position();
        let stream = match repl::start(conn, &cfg.spec, start, protocol).await {
            Ok(s) => s,
            Err(WireError::Setup(e)) => return Err(e.into()),
            Err(WireError::Server(e)) => return Err(refused(&state, e).into()),
            Err(e) => {
                if backoff
                    .wait(&mut shutdown, format!("starting replication: {e}"))
                    .await
                {
                    break;
                }
                continue;
            }
        };
        tracing::info!(slot = %cfg.spec.slot, publication = %cfg.spec.publication, "streaming from {start}");
        if let Ok(Some(at)) = setup::slot_confirmed_lsn(&state.client, &cfg.spec.slot).await {
            state.tenants.set_floor(at);
        }
        // Ours while we stream: at the end, the one walsender we may stop to free the slot.
        state.walsender = setup::slot_holder(&state.client, &cfg.spec.slot)
            .await
            .ok()
            .flatten();
        backoff = Backoff::default();
        match state.stream(stream, &mut shutdown).await? {
            SessionEnd::Shutdown => break,
            SessionEnd::Disconnected(e) => {
                tracing::warn!("replication connection lost ({e}); reconnecting");
                state.forget_undelivered();
                if wait_or_shutdown(&mut shutdown, backoff.next).await {
                    break;
                }
            }
        }
    }
    finish(state).await
}

/// Why the server refused to stream from the slot, said so that the user knows what to do.
/// Each of these is final: retrying cannot bring a dropped or invalidated slot back.
fn refused(state: &Loop<'_>, e: ServerError) -> SetupError {
    let slot = &state.cfg.spec.slot;
    match (e.code.as_str(), state.durability.store()) {
        ("42704", Some(store)) => setup::slot_gone(slot, store, state.tenants.slot_position()),
        ("55000", _)
            if e.message
                .contains("cannot read from logical replication slot") =>
        {
            setup::slot_lost(slot)
        }
        _ => SetupError::new(format!(
            "the server refused to stream from replication slot {slot:?}: {}",
            e.message
        )),
    }
}

/// Capped exponential waits between attempts to reach the server, cut short by a stop.
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Duration::from_secs(1),
        }
    }
}

impl Backoff {
    /// Says why, waits, doubles the next wait (up to 30 s); returns whether a stop was requested
    /// meanwhile.
    async fn wait(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        why: impl std::fmt::Display,
    ) -> bool {
        tracing::warn!("reconnecting in {:?}: {why}", self.next);
        let stop = wait_or_shutdown(shutdown, self.next).await;
        self.next = (self.next * 2).min(Duration::from_secs(30));
        stop
    }
}

/// Sleeps for `delay` unless shutdown is requested first; returns whether it was.
async fn wait_or_shutdown(shutdown: &mut watch::Receiver<bool>, delay: Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(delay) => false,
        _ = shutdown.changed() => true,
    }
}

/// How long the server gets to act on our last status update before we move the slot over SQL.
const CONFIRM_WAIT: Duration = Duration::from_secs(2);

/// After the last status update: confirm the slot moved, then close the sinks.
async fn finish(mut state: Loop<'_>) -> anyhow::Result<Summary> {
    let mut summary = Summary {
        transactions: state.transactions,
        confirmed: state.confirmed,
        ..Summary::default()
    };
    let slot = &state.cfg.spec.slot;
    let deadline = Instant::now() + CONFIRM_WAIT;
    let mut moved_over_sql = false;
    loop {
        // A stop while the server is away (say, during a reconnect) is still a clean stop:
        // our checkpoint holds every position, and the slot catches up at the next start.
        let at = match setup::slot_confirmed_lsn(&state.client, slot).await {
            Ok(at) => at,
            Err(e) => {
                tracing::warn!(
                    "could not read the slot's position ({e}); the checkpoint holds {}",
                    summary.confirmed
                );
                break;
            }
        };
        summary.slot_confirmed = at;
        if at.is_none_or(|s| s >= summary.confirmed) {
            break;
        }
        if Instant::now() > deadline {
            if moved_over_sql {
                break;
            }
            // The walsender did not act on our last status update: it reads replies only
            // between sends, and one busy decoding a large transaction may not get to it for
            // many seconds. Free the slot and move it ourselves.
            moved_over_sql = true;
            let until = Instant::now() + CONFIRM_WAIT;
            if let Err(e) = setup::advance_released_slot(
                &state.client,
                slot,
                state.walsender,
                summary.confirmed,
                until,
            )
            .await
            {
                tracing::warn!("could not move the slot to {}: {e}", summary.confirmed);
            }
            continue;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    state.backfills.close();
    state.tenants.shut_down().await;
    summary.tenants = state.write_status(false).tenants;
    Ok(summary)
}
