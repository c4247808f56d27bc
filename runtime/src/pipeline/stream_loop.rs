//! One replication session: the `select!` loop that reads the stream, feeds the tenants, makes
//! their positions durable and tells the server, until a stop or a lost connection.

use std::time::Instant;

use tokio::sync::{mpsc, watch};

use super::backfill::control::Asked;
use super::backfill::Backfills;
use super::durable::{Durability, DurableWriter};
use super::failpoint;
use super::status;
use super::tenants::Tenants;
use super::worker::Outcome;
use super::PipelineConfig;
use crate::assemble::{Assembler, Replayed, StreamBlocks, Taken, Transaction};
use crate::decode::{decode, Message};
use crate::event::Lsn;
use crate::source::catalog::load_types;
use crate::source::stream::{ReplicationStream, ServerMessage};
use crate::source::wire::WireError;

/// How often a streaming run logs its one-line summary.
const SUMMARY_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// How a streaming session ended.
pub(super) enum SessionEnd {
    Shutdown,
    Disconnected(WireError),
}

/// Everything that outlives one connection: the tenants, their positions, what was received.
pub(super) struct Loop<'a> {
    pub cfg: &'a PipelineConfig,
    pub client: tokio_postgres::Client,
    pub assembler: Assembler,
    pub blocks: StreamBlocks,
    pub tenants: Tenants,
    pub outcomes: mpsc::UnboundedReceiver<Outcome>,
    pub durability: Durability,
    /// Highest WAL position the server said it sent.
    pub received: Lsn,
    /// What the server was last told.
    pub confirmed: Lsn,
    pub transactions: u64,
    pub shutting_down: bool,
    /// A transaction committed after `stop_at` arrived: nothing more is read or delivered.
    past_stop: bool,
    /// The walsender serving our replication connection (it holds the slot while we stream).
    pub walsender: Option<i32>,
    /// Why the connection failed while sending a status update, for the loop to act on.
    lost: Option<WireError>,
    /// When the last summary line was logged, and the changes delivered then.
    summary: (Instant, u64),
    pub backfills: Backfills,
    /// Backfill requests from the control socket.
    pub requests: Option<mpsc::Receiver<Asked>>,
    /// What the connection brought (the status file's `source`; `transactions` is the field
    /// above).
    source: status::SourceStats,
    /// A session is under way.
    streaming: bool,
    watch: status::Watch,
}

impl<'a> Loop<'a> {
    pub fn new(
        cfg: &'a PipelineConfig,
        client: tokio_postgres::Client,
        assembler: Assembler,
        protocol: u32,
        tenants: Tenants,
        outcomes: mpsc::UnboundedReceiver<Outcome>,
        backfills: Backfills,
    ) -> Loop<'a> {
        let spill = cfg.state_dir.join("spill");
        Loop {
            cfg,
            client,
            assembler,
            blocks: StreamBlocks::new(&spill, cfg.stream_memory_bytes, protocol),
            tenants,
            outcomes,
            durability: Durability::new(),
            received: Lsn(0),
            confirmed: Lsn(0),
            transactions: 0,
            shutting_down: false,
            past_stop: false,
            walsender: None,
            lost: None,
            summary: (Instant::now(), 0),
            backfills,
            requests: None,
            source: status::SourceStats::default(),
            streaming: false,
            watch: status::Watch::new(cfg.stall_after),
        }
    }

    /// Positions are kept from the first connection on.
    pub fn open_store(&mut self, writer: DurableWriter) {
        self.durability.open(writer);
    }

    pub async fn stream(
        &mut self,
        mut stream: ReplicationStream,
        shutdown: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<SessionEnd> {
        let mut ticker = tokio::time::interval(self.cfg.status_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.tenants.mark_dispatch_due();
        let failpoints = self.cfg.failpoints.clone();
        self.streaming = true;
        loop {
            if self.shutting_down && !self.tenants.any_in_flight() {
                self.durability.now(&mut self.tenants).await?;
                self.send_status(&mut stream, false).await?;
                if let Some(e) = self.lost.take() {
                    tracing::warn!("the final status update was not sent ({e}): the slot catches up from the checkpoint at the next start");
                }
                stream.finish().await.ok();
                return Ok(SessionEnd::Shutdown);
            }
            if let Some(e) = self.lost.take() {
                self.drain_in_flight().await?;
                return Ok(SessionEnd::Disconnected(e));
            }
            if self.tenants.dispatch_due() {
                self.tenants.dispatch(self.shutting_down).await;
            }
            if self.reached_stop_position() {
                tracing::info!("reached {}: stopping", self.received);
                self.shutting_down = true;
                continue;
            }
            let full = self.tenants.any_full();
            let replaying = self.blocks.replaying();
            let reading = !self.shutting_down && !self.past_stop && !full && !replaying;
            let replay_step = !full && replaying;
            let in_flight = self.tenants.any_in_flight();
            let send_due = self.tenants.send_due();
            let flush_due = self.durability.flush_due();
            tokio::select! {
                message = recv(&mut stream, &failpoints), if reading => {
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
                            self.source.received_bytes += data.len() as u64;
                            self.source.received_messages += 1;
                            self.on_message(&data).await?;
                        }
                        ServerMessage::Keepalive { wal_end, reply_requested } => {
                            self.received = self.received.max(wal_end);
                            if !self.assembler.in_transaction() {
                                // Never past --stop-at: the slot must not be confirmed beyond it.
                                let to = self.cfg.stop_at.map_or(wal_end, |s| s.min(wal_end));
                                self.tenants.advance_idle(to);
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
                _ = std::future::ready(()), if replay_step => self.replay_step().await?,
                outcome = self.outcomes.recv(), if in_flight => {
                    if self.tenants.on_outcome(outcome, &self.cfg.spec.slot).await? {
                        self.durability.accepted(&self.tenants);
                    }
                }
                written = self.durability.finished(), if self.durability.writing() => {
                    self.durability.became_durable(&mut self.tenants, written?);
                    self.send_status(&mut stream, false).await?;
                    self.move_backfills();
                }
                // A tenant's small batch has waited long enough: the next turn sends it.
                _ = tokio::time::sleep_until(send_due.unwrap_or_else(Instant::now).into()), if send_due.is_some() => {
                    self.tenants.mark_dispatch_due();
                }
                _ = tokio::time::sleep_until(flush_due.unwrap_or_else(Instant::now).into()), if flush_due.is_some() => {
                    self.durability.begin(&self.tenants);
                }
                _ = ticker.tick() => {
                    self.durability.begin(&self.tenants);
                    self.send_status(&mut stream, false).await?;
                    self.start_backfills().await;
                    self.move_backfills();
                    self.report();
                }
                event = self.backfills.next_event() => {
                    if let Some(event) = event {
                        self.backfills.on_event(event);
                    }
                }
                asked = next_request(&mut self.requests), if self.requests.is_some() => match asked {
                    Some(asked) => {
                        let answer = self.on_backfill_request(asked.request).await;
                        match &answer {
                            Ok(m) => tracing::info!("{m}"),
                            Err(e) => tracing::warn!("backfill refused: {e}"),
                        }
                        let _ = asked.reply.send(answer);
                        self.move_backfills();
                    }
                    None => self.requests = None,
                },
                _ = shutdown.changed(), if !self.shutting_down => {
                    tracing::info!("shutting down: finishing the calls in flight");
                    self.shutting_down = true;
                    self.tenants.cancel_retries();
                }
            }
        }
    }

    /// Everything up to `stop_at` is delivered: the server sent WAL past it (or a transaction
    /// committed after it), nothing is open, and every tenant is idle.
    fn reached_stop_position(&self) -> bool {
        !self.shutting_down
            && self
                .cfg
                .stop_at
                .is_some_and(|stop| self.past_stop || self.received >= stop)
            && !self.assembler.in_transaction()
            && self.tenants.all_idle()
    }

    /// Whether a transaction committed at `commit_lsn` lies past `stop_at` (like
    /// `pg_recvlogical --endpos`, a transaction is delivered when its commit is at or before
    /// the stop position). The first one past it ends reading.
    fn past_stop_at(&mut self, commit_lsn: u64) -> bool {
        if self.cfg.stop_at.is_some_and(|stop| Lsn(commit_lsn) > stop) {
            if !self.past_stop {
                tracing::info!(
                    "the transaction committed at {} is past --stop-at: not delivered",
                    Lsn(commit_lsn)
                );
            }
            self.past_stop = true;
        }
        self.past_stop
    }

    /// One pgoutput message from the server.
    async fn on_message(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self.blocks.take(data, &mut self.assembler)? {
            Taken::Message(msg) => {
                learn_types(&self.client, &mut self.assembler, &msg).await?;
                if let Some(txn) = self.assembler.apply(msg)? {
                    self.committed(txn).await;
                }
            }
            Taken::Held => {
                // A streamed transaction that committed past --stop-at is not replayed.
                let commit = self.assembler.streamed_commit_lsn();
                if self.blocks.replaying() && commit.is_some_and(|c| self.past_stop_at(c)) {
                    self.blocks.clear();
                    self.assembler.finish_streamed();
                }
            }
        }
        Ok(())
    }

    async fn committed(&mut self, txn: Transaction) {
        let marks = self.assembler.take_marks();
        if self.past_stop_at(txn.commit_lsn) {
            return;
        }
        self.transactions += 1;
        self.backfills.observe(&txn);
        if !marks.is_empty() {
            // A backfill's reads go right before its high watermark's transaction.
            for (ids, part) in self.backfills.on_marks(marks, &txn) {
                self.tenants.offer_to(&ids, part).await;
            }
            self.move_backfills();
        }
        self.tenants.offer(txn, true).await;
    }

    /// Records backfill progress that became durable and asks for the next chunks.
    pub(super) fn move_backfills(&mut self) {
        let tenants = &self.tenants;
        if let Err(e) = self.backfills.tick(|id| tenants.durable_of(id)) {
            tracing::warn!("could not record backfill progress: {e:#}");
        }
    }

    /// Replays some of a committed streamed transaction; hands it to the tenants in parts so
    /// that no more than a part is assembled at a time.
    async fn replay_step(&mut self) -> anyhow::Result<()> {
        const PART: usize = 10_000;
        let ctx = self.blocks.replay_context();
        for _ in 0..PART {
            let bytes = match self.blocks.next_replayed()? {
                None => return Ok(()),
                Some(Replayed::Finished) => {
                    if let Some(last) = self.assembler.finish_streamed() {
                        tracing::debug!(xid = last.xid, "streamed transaction replayed");
                        self.committed(last).await;
                    }
                    return Ok(());
                }
                Some(Replayed::Message(bytes)) => bytes,
            };
            let msg = decode(&bytes, &ctx)?;
            learn_types(&self.client, &mut self.assembler, &msg).await?;
            self.assembler.apply(msg)?;
            if self.assembler.open_changes() >= PART {
                if let Some(part) = self.assembler.take_part() {
                    self.backfills.observe(&part);
                    self.tenants.offer(part, false).await;
                }
                return Ok(());
            }
        }
        Ok(())
    }

    /// Waits for the calls in flight (after the connection dropped), keeping their results.
    /// A session lost (one more reconnect); not streaming meanwhile: readiness fails at once,
    /// and a sink retrying for minutes does not read as a stuck loop to `/healthz`.
    pub async fn drain_in_flight(&mut self) -> anyhow::Result<()> {
        self.streaming = false;
        self.source.reconnects += 1;
        self.write_status(true);
        while self.tenants.any_in_flight() {
            let outcome = self.outcomes.recv().await;
            self.tenants
                .on_outcome(outcome, &self.cfg.spec.slot)
                .await?;
        }
        self.durability.now(&mut self.tenants).await
    }

    /// After a reconnect the server resends everything after the slot position; each tenant
    /// skips what it accepted.
    pub fn forget_undelivered(&mut self) {
        self.assembler.reset();
        self.blocks.clear();
        self.tenants.restart_from_durable();
        self.backfills.restart();
    }

    /// Tells the server what is durable: the slot may move up to the least tenant position on
    /// disk.
    async fn send_status(
        &mut self,
        stream: &mut ReplicationStream,
        reply: bool,
    ) -> anyhow::Result<()> {
        let flush = self.tenants.slot_position().max(self.confirmed);
        if self.cfg.failpoints.hit(failpoint::STATUS_LOST) {
            self.confirmed = flush;
            return Ok(());
        }
        match stream
            .send_status(self.received.max(flush), flush, reply)
            .await
        {
            Ok(()) => self.confirmed = flush,
            // The connection is gone: the loop notices at its next turn and reconnects.
            Err(e) => self.lost = self.lost.take().or(Some(e)),
        }
        Ok(())
    }

    /// Writes the status file and warns about tenants holding WAL back.
    fn report(&mut self) {
        self.tenants
            .warn_lag(self.received, self.cfg.max_wal_lag_bytes);
        let status = self.write_status(true);
        // One line at info every 30 s, so a log alone shows that the stream moves and how fast.
        let delivered: u64 = status.tenants.iter().map(|t| t.delivered_changes).sum();
        let (at, before) = self.summary;
        if at.elapsed() >= SUMMARY_EVERY {
            let secs = at.elapsed().as_secs_f64();
            let lag = status
                .tenants
                .iter()
                .map(|t| t.lag_bytes)
                .max()
                .unwrap_or(0);
            let quarantined = status
                .tenants
                .iter()
                .filter(|t| t.state != "active")
                .count();
            tracing::info!(
                "streaming: {:.0} changes/s delivered over the last {secs:.0} s, {} \
                 transactions in all, largest tenant lag {} KiB and {:.1} s, {quarantined} of \
                 {} tenants quarantined",
                delivered.saturating_sub(before) as f64 / secs,
                self.transactions,
                lag >> 10,
                status
                    .tenants
                    .iter()
                    .map(|t| t.lag_seconds)
                    .fold(0.0, f64::max),
                status.tenants.len()
            );
            self.summary = (Instant::now(), delivered);
        }
    }

    /// Writes the status file (a report, not a guarantee: a failure is only logged), and
    /// publishes it as metrics when `--metrics-addr` is set.
    pub fn write_status(&mut self, running: bool) -> status::RunStatus {
        self.write_status_with(running, None)
    }

    /// [`Loop::write_status`], with the initial snapshot's progress.
    pub fn write_status_with(
        &mut self,
        running: bool,
        snapshot: Option<status::SnapshotStatus>,
    ) -> status::RunStatus {
        let mut status = status::RunStatus::now(
            running,
            &self.cfg.spec,
            self.received,
            self.confirmed,
            self.tenants.status(self.received),
        );
        status.snapshot = snapshot;
        status.backfills = self.backfills.status();
        let (used, peak, limit) = self.tenants.queue_memory();
        status.queue_memory = Some(status::QueueMemoryStatus { used, peak, limit });
        status.streaming = self.streaming && running;
        status.source = status::SourceStats {
            transactions: self.transactions,
            spilled_bytes: self.blocks.spilled_bytes(),
            heartbeat_us: self.assembler.heartbeat(),
            ..self.source.clone()
        };
        let now = std::time::SystemTime::now();
        self.watch
            .observe(&mut status, Instant::now(), status::unix_micros(now));
        crate::metrics::publish(&status);
        if let Err(e) = status::write(&self.cfg.state_dir, &status) {
            tracing::debug!("could not write the status file: {e}");
        }
        status
    }
}

/// The next message from the server; with failpoint [`failpoint::SOURCE_RECV`] armed, a
/// received message is dropped and the connection reported cut, as a broken network would.
async fn recv(
    stream: &mut ReplicationStream,
    failpoints: &failpoint::Failpoints,
) -> Result<ServerMessage, WireError> {
    let message = stream.recv().await;
    if failpoints.hit(failpoint::SOURCE_RECV) {
        return Err(WireError::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            format!("failpoint {}", failpoint::SOURCE_RECV),
        )));
    }
    message
}

/// The next backfill request, or `None` when the control socket is gone.
async fn next_request(requests: &mut Option<mpsc::Receiver<Asked>>) -> Option<Asked> {
    match requests {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// Looks up types a message refers to that the assembler does not know yet.
async fn learn_types(
    client: &tokio_postgres::Client,
    assembler: &mut Assembler,
    msg: &Message<'_>,
) -> anyhow::Result<()> {
    let unknown = assembler.unknown_types(msg);
    if !unknown.is_empty() {
        load_types(client, assembler.types_mut(), Some(&unknown)).await?;
    }
    Ok(())
}
