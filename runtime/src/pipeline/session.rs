//! The streaming loop, and reconnecting when the connection drops.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};

use super::batcher::Batcher;
use super::PipelineConfig;
use crate::assemble::{Assembler, TypeRegistry};
use crate::checkpoint::{CheckpointStore, StreamId};
use crate::decode::{decode, DecodeContext};
use crate::error::SetupError;
use crate::sandbox::worker::{Outcome, Request, SinkWorker};
use crate::source::lsn::Lsn;
use crate::source::session as repl;
use crate::source::setup::{self, load_types};
use crate::source::stream::{ReplicationStream, ServerMessage};
use crate::source::wire::WireError;

/// What a run did, printed when it ends.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub transactions: u64,
    pub changes: u64,
    pub batches: u64,
    /// The position confirmed to the server last.
    pub confirmed: Lsn,
    /// The slot's position as the server reported it after the final status update.
    pub slot_confirmed: Option<Lsn>,
}

/// How a streaming session ended.
enum SessionEnd {
    Shutdown,
    Disconnected(WireError),
}

/// Streams until `shutdown` turns true (then exits cleanly) or something fails that retrying
/// cannot fix.
pub async fn run(
    cfg: &PipelineConfig,
    worker: SinkWorker,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Summary> {
    let client = setup::connect_sql(&cfg.conn).await?;
    setup::prepare(&client, &cfg.conn, &cfg.spec).await?;
    let mut types = TypeRegistry::default();
    load_types(&client, &mut types, None).await?;

    let mut state = Loop {
        cfg,
        client,
        assembler: Assembler::new(types),
        batcher: Batcher::new(cfg.max_batch_changes),
        worker,
        outcomes,
        checkpoint: None,
        durable: Lsn(0),
        pending_ack: None,
        received: Lsn(0),
        in_flight: None,
        next_token: 0,
        summary: Summary::default(),
        shutting_down: false,
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        let (conn, system) = match repl::connect(&cfg.conn).await {
            Ok(c) => c,
            Err(WireError::Setup(e)) => return Err(e.into()),
            Err(e) if state.checkpoint.is_some() => {
                tracing::warn!("reconnecting in {backoff:?}: {e}");
                if wait_or_shutdown(&mut shutdown, backoff).await {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if state.checkpoint.is_none() {
            let store = CheckpointStore::new(
                &cfg.state_dir,
                StreamId {
                    system_id: system.system_id.clone(),
                    database: system.database.clone(),
                    slot: cfg.spec.slot.clone(),
                },
            );
            state.durable = store.load()?.unwrap_or_default();
            tracing::info!(
                checkpoint = %store.path().display(),
                "resuming after {}",
                state.durable
            );
            state.checkpoint = Some(store);
        }
        let stream = match repl::start(conn, &cfg.spec, state.durable).await {
            Ok(s) => s,
            Err(WireError::Setup(e)) => return Err(e.into()),
            Err(e) => return Err(e).context("starting replication"),
        };
        tracing::info!(slot = %cfg.spec.slot, publication = %cfg.spec.publication, "streaming");
        backoff = Duration::from_secs(1);
        match state.stream(stream, &mut shutdown).await? {
            SessionEnd::Shutdown => break,
            SessionEnd::Disconnected(e) => {
                tracing::warn!("replication connection lost ({e}); reconnecting");
                state.forget_undelivered();
                if wait_or_shutdown(&mut shutdown, backoff).await {
                    break;
                }
            }
        }
    }
    state.finish().await
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

struct InFlight {
    token: u64,
    ack: Option<Lsn>,
    changes: usize,
}

struct Loop<'a> {
    cfg: &'a PipelineConfig,
    client: tokio_postgres::Client,
    assembler: Assembler,
    batcher: Batcher,
    worker: SinkWorker,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    checkpoint: Option<CheckpointStore>,
    /// Stored durably; what the server has been (or may be) told.
    durable: Lsn,
    /// A position we may acknowledge at the next status update.
    pending_ack: Option<Lsn>,
    /// Highest WAL position the server said it sent.
    received: Lsn,
    in_flight: Option<InFlight>,
    next_token: u64,
    summary: Summary,
    shutting_down: bool,
}

impl Loop<'_> {
    async fn stream(
        &mut self,
        mut stream: ReplicationStream,
        shutdown: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<SessionEnd> {
        let mut ticker = tokio::time::interval(self.cfg.status_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ctx = DecodeContext {
            in_stream: false,
            protocol_version: 1,
        };
        let skip_through = self.durable;
        loop {
            if self.shutting_down && self.in_flight.is_none() {
                self.send_status(&mut stream, false).await?;
                stream.finish().await.ok();
                return Ok(SessionEnd::Shutdown);
            }
            self.dispatch()?;
            let reading =
                !self.shutting_down && self.batcher.queued_changes() < self.cfg.max_queued_changes;
            tokio::select! {
                message = stream.recv(), if reading => {
                    let message = match message {
                        Ok(m) => m,
                        Err(WireError::Setup(e)) => return Err(e.into()),
                        Err(e) => {
                            self.drain_in_flight().await?;
                            return Ok(SessionEnd::Disconnected(e));
                        }
                    };
                    match message {
                        ServerMessage::XLogData { wal_end, data, .. } => {
                            self.received = self.received.max(wal_end);
                            let msg = decode(&data, &ctx)?;
                            let unknown = self.assembler.unknown_types(&msg);
                            if !unknown.is_empty() {
                                load_types(&self.client, self.assembler.types_mut(), Some(&unknown)).await?;
                            }
                            if let Some(txn) = self.assembler.apply(msg)? {
                                if Lsn(txn.end_lsn) <= skip_through {
                                    tracing::debug!(end_lsn = %Lsn(txn.end_lsn), "skipping a transaction delivered before");
                                } else {
                                    self.summary.transactions += 1;
                                    self.batcher.push(txn);
                                }
                            }
                        }
                        ServerMessage::Keepalive { wal_end, reply_requested } => {
                            self.received = self.received.max(wal_end);
                            if self.idle() {
                                // Nothing of ours is between the last ack and the server's WAL
                                // end, so it may discard that WAL (idle or filtered-out database).
                                self.pending_ack = Some(self.pending_ack.unwrap_or_default().max(wal_end));
                            }
                            if reply_requested {
                                self.send_status(&mut stream, false).await?;
                            }
                        }
                        ServerMessage::End => {
                            self.drain_in_flight().await?;
                            return Ok(SessionEnd::Disconnected(WireError::Unexpected('c')));
                        }
                    }
                }
                outcome = self.outcomes.recv(), if self.in_flight.is_some() => {
                    self.on_outcome(outcome)?;
                    self.send_status(&mut stream, false).await?;
                }
                _ = ticker.tick() => self.send_status(&mut stream, false).await?,
                _ = shutdown.changed(), if !self.shutting_down => {
                    tracing::info!("shutting down: finishing the call in flight");
                    self.shutting_down = true;
                    self.worker.cancel_retries();
                }
            }
        }
    }

    /// Nothing received is waiting for the sink.
    fn idle(&self) -> bool {
        self.in_flight.is_none() && self.batcher.is_empty() && !self.assembler.in_transaction()
    }

    fn dispatch(&mut self) -> anyhow::Result<()> {
        while self.in_flight.is_none() && !self.shutting_down {
            let Some(ready) = self.batcher.next_batch() else {
                return Ok(());
            };
            if ready.batch.changes.is_empty() {
                self.pending_ack = ready.ack.max(self.pending_ack);
                continue;
            }
            let token = self.next_token;
            self.next_token += 1;
            self.in_flight = Some(InFlight {
                token,
                ack: ready.ack,
                changes: ready.batch.changes.len(),
            });
            if !self.worker.send(Request::Publish {
                batch: ready.batch,
                token,
            }) {
                anyhow::bail!("the sink thread has stopped");
            }
        }
        Ok(())
    }

    fn on_outcome(&mut self, outcome: Option<Outcome>) -> anyhow::Result<()> {
        let Some(in_flight) = self.in_flight.take() else {
            return Ok(());
        };
        match outcome {
            Some(Outcome::Accepted { token }) if token == in_flight.token => {
                self.summary.batches += 1;
                self.summary.changes += in_flight.changes as u64;
                if let Some(ack) = in_flight.ack {
                    self.make_durable(ack)?;
                }
                Ok(())
            }
            Some(Outcome::Cancelled { .. }) => Ok(()),
            Some(Outcome::Failed { error, .. }) => Err(SetupError::new(format!(
                "{error}; nothing after {} was acknowledged, so the changes stay in slot {:?} \
                 until the sink accepts them",
                self.durable, self.cfg.spec.slot
            ))
            .into()),
            Some(Outcome::Accepted { .. }) | None => {
                anyhow::bail!("the sink thread stopped unexpectedly")
            }
        }
    }

    /// Waits for the call in flight (after the connection dropped), keeping its result.
    async fn drain_in_flight(&mut self) -> anyhow::Result<()> {
        if self.in_flight.is_some() {
            let outcome = self.outcomes.recv().await;
            self.on_outcome(outcome)?;
        }
        Ok(())
    }

    /// After a reconnect the server resends everything after what we acknowledged.
    fn forget_undelivered(&mut self) {
        self.batcher.clear();
        self.assembler.reset();
        self.pending_ack = None;
    }

    fn make_durable(&mut self, lsn: Lsn) -> anyhow::Result<()> {
        if lsn > self.durable {
            if let Some(store) = &self.checkpoint {
                store.store(lsn)?;
            }
            self.durable = lsn;
        }
        Ok(())
    }

    async fn send_status(
        &mut self,
        stream: &mut ReplicationStream,
        reply: bool,
    ) -> anyhow::Result<()> {
        if let Some(ack) = self.pending_ack.take() {
            self.make_durable(ack)?;
        }
        let flush = self.durable;
        stream
            .send_status(self.received.max(flush), flush, reply)
            .await
            .context("sending a status update")?;
        self.summary.confirmed = flush;
        Ok(())
    }

    /// After the last status update: confirm the slot moved, then close the sink.
    async fn finish(self) -> anyhow::Result<Summary> {
        let mut summary = self.summary;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let slot = setup::slot_confirmed_lsn(&self.client, &self.cfg.spec.slot).await?;
            summary.slot_confirmed = slot;
            if slot.is_some_and(|s| s >= summary.confirmed) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Err(e) = tokio::task::spawn_blocking(move || self.worker.shut_down()).await? {
            tracing::warn!("sink close failed: {e}");
        }
        Ok(summary)
    }
}
