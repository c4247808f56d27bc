//! The streaming loop, and reconnecting when the connection drops.

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};

use super::backlog::Backlog;
use super::durable::{self, DurableWriter};
use super::status::{self, RunStatus, TenantStatus};
use super::tenant::{Tenant, TenantSetup, TenantState};
use super::PipelineConfig;
use crate::assemble::{Assembler, Replay, StreamedTransactions, Transaction, TypeRegistry};
use crate::checkpoint::{CheckpointStore, Position, StreamId};
use crate::decode::{decode, DecodeContext, Message};
use crate::error::SetupError;
use crate::event::Lsn;
use crate::sandbox::worker::{Outcome, SinkWorker};
use crate::source::catalog::load_types;
use crate::source::replication as repl;
use crate::source::setup;
use crate::source::stream::{ReplicationStream, ServerMessage};
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

/// How a streaming session ended.
enum SessionEnd {
    Shutdown,
    Disconnected(WireError),
}

/// Streams until `shutdown` turns true (then exits cleanly) or something fails that retrying
/// cannot fix. `client` is the SQL connection setup used (publication and slot must exist).
pub async fn run(
    cfg: &PipelineConfig,
    client: tokio_postgres::Client,
    tenants: Vec<TenantSetup>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Summary> {
    let mut types = TypeRegistry::default();
    load_types(&client, &mut types, None).await?;
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .context("reading the server version")?
        .get(0);
    let protocol = if version >= 140000 { 2 } else { 1 };

    let mut state = Loop {
        cfg,
        client,
        assembler: Assembler::new(types),
        protocol,
        streamed: StreamedTransactions::new(&cfg.state_dir.join("spill"), cfg.stream_memory_bytes),
        stream_block: None,
        replay: None,
        setups: Some(tenants),
        tenants: Vec::new(),
        outcomes,
        checkpoint: None,
        received: Lsn(0),
        confirmed: Lsn(0),
        next_token: 0,
        transactions: 0,
        shutting_down: false,
        lost: None,
        last_durable: Instant::now(),
        flush_due: None,
        send_due: None,
        dispatch_due: true,
    };
    let mut backoff = Backoff::default();
    loop {
        let (conn, system) = match repl::connect(&cfg.conn).await {
            Ok(c) => c,
            Err(WireError::Setup(e)) => return Err(e.into()),
            Err(WireError::Unreachable(e)) if state.checkpoint.is_none() => return Err(e.into()),
            // A server restarting refuses connections for a while (57P03: starting up, shutting
            // down, in recovery), and a busy one may have no connection slot free (53300).
            Err(WireError::Server(e)) if !matches!(e.code.as_str(), "57P03" | "53300") => {
                return Err(e.into())
            }
            Err(e) if state.checkpoint.is_some() => {
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
        if state.checkpoint.is_none() {
            state.open_checkpoint(StreamId {
                system_id: system.system_id.clone(),
                database: system.database.clone(),
                slot: cfg.spec.slot.clone(),
            })?;
        }
        let start = state.slot_position();
        let stream = match repl::start(conn, &cfg.spec, start, state.protocol).await {
            Ok(s) => s,
            Err(WireError::Setup(e)) => return Err(e.into()),
            Err(WireError::Server(e)) => return Err(state.refused(e).into()),
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
    state.finish().await
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

struct Loop<'a> {
    cfg: &'a PipelineConfig,
    client: tokio_postgres::Client,
    assembler: Assembler,
    /// pgoutput protocol version: 2 (with streaming of large transactions) on PostgreSQL 14+.
    protocol: u32,
    /// Streamed transactions not yet committed.
    streamed: StreamedTransactions,
    /// The top-level xid of the Stream Start … Stream Stop block being received.
    stream_block: Option<u32>,
    /// A committed streamed transaction being replayed to the tenants, part by part.
    replay: Option<Replay>,
    /// Tenants before the checkpoint (and so their positions) is known.
    setups: Option<Vec<TenantSetup>>,
    tenants: Vec<Tenant>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    /// The checkpoint file, from the first connection on (its name depends on the server).
    checkpoint: Option<DurableWriter>,
    /// Highest WAL position the server said it sent.
    received: Lsn,
    /// What the server was last told.
    confirmed: Lsn,
    next_token: u64,
    transactions: u64,
    shutting_down: bool,
    /// Why the connection failed while sending a status update, for the loop to act on.
    lost: Option<WireError>,
    /// When positions were last written to disk, and when accepted ones wait to be (see
    /// [`GROUP_COMMIT`]).
    last_durable: Instant,
    flush_due: Option<Instant>,
    /// The earliest time a tenant holding back a small batch wants to send it.
    send_due: Option<Instant>,
    /// Something happened since the last pass over the tenants that may let one of them send a
    /// batch: a transaction was queued, a call finished, a held batch's wait ran out. Most turns
    /// of the loop read a message that completes nothing (Begin, Relation, a row), and visiting a
    /// hundred tenants on each of them was a fifth of the loop's time.
    dispatch_due: bool,
}

/// The shortest time between two checkpoint writes while sinks keep accepting batches: one
/// fsync then covers every batch accepted in the window (with a hundred tenants each accepting
/// its own small batches, an fsync per batch was the ceiling). A crash inside the window only
/// means those batches are delivered again; the server is never told before the write.
const GROUP_COMMIT: Duration = Duration::from_millis(10);

impl Loop<'_> {
    fn open_checkpoint(&mut self, stream: StreamId) -> anyhow::Result<()> {
        let store = CheckpointStore::new(&self.cfg.state_dir, stream);
        let stored = store.load()?;
        let setups = self.setups.take().unwrap_or_default();
        // One tenant stops the stream when it falls behind; several spill, so that the slow one
        // does not hold up the others (see `backlog`).
        let spill = setups.len() > 1;
        let backlog_dir = self.cfg.state_dir.join("backlog").join(&self.cfg.spec.slot);
        for setup in setups {
            let position = stored.get(&*setup.id).copied().unwrap_or_default();
            tracing::info!(tenant = %setup.id, "resuming after {position}");
            let backlog =
                spill.then(|| Backlog::new(backlog_dir.join(format!("{}.jsonl", setup.id))));
            self.tenants.push(Tenant::new(setup, position, backlog));
        }
        tracing::info!(checkpoint = %store.path().display(), "positions");
        self.checkpoint = Some(DurableWriter::new(store));
        Ok(())
    }

    /// Why the server refused to stream from the slot, said so that the user knows what to do.
    /// Each of these is final: retrying cannot bring a dropped or invalidated slot back.
    fn refused(&self, e: ServerError) -> SetupError {
        let slot = &self.cfg.spec.slot;
        match (e.code.as_str(), &self.checkpoint) {
            ("42704", Some(w)) => setup::slot_gone(slot, w.store(), self.slot_position()),
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

    /// The slot may move up to the least position over all tenants, quarantined ones included:
    /// their changes must stay on the server until they are delivered.
    fn slot_position(&self) -> Lsn {
        self.tenants
            .iter()
            .map(|t| t.durable.lsn)
            .min()
            .unwrap_or_default()
    }

    async fn stream(
        &mut self,
        mut stream: ReplicationStream,
        shutdown: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<SessionEnd> {
        let mut ticker = tokio::time::interval(self.cfg.status_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ctx = DecodeContext {
            in_stream: false,
            protocol_version: self.protocol,
        };
        self.dispatch_due = true;
        loop {
            if self.shutting_down && self.tenants.iter().all(|t| t.in_flight.is_none()) {
                self.make_durable_now().await?;
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
            if self.dispatch_due {
                self.dispatch().await;
            }
            if self.reached_stop_position() {
                tracing::info!("reached {}: stopping", self.received);
                self.shutting_down = true;
                continue;
            }
            let full = self.tenants.iter().any(Tenant::full);
            let reading = !self.shutting_down && !full && self.replay.is_none();
            let replaying = !full && self.replay.is_some();
            let in_flight = self.tenants.iter().any(|t| t.in_flight.is_some());
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
                            self.on_message(&data, &ctx).await?;
                        }
                        ServerMessage::Keepalive { wal_end, reply_requested } => {
                            self.received = self.received.max(wal_end);
                            if !self.assembler.in_transaction() {
                                // Nothing of a tenant with nothing pending lies between its
                                // position and the server's WAL end, so that WAL may go (an
                                // idle or filtered-out database).
                                let idle = |t: &&mut Tenant| t.active() && t.idle() && t.partial.is_none();
                                for t in self.tenants.iter_mut().filter(idle) {
                                    t.accepted = t.accepted.max(wal_end);
                                }
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
                _ = std::future::ready(()), if replaying => self.replay_step().await?,
                outcome = self.outcomes.recv(), if in_flight => {
                    if self.on_outcome(outcome).await? {
                        // The sink did real work: make it durable (then the server is told),
                        // now if the last write is a group-commit window old, else at the
                        // window's end together with whatever else is accepted meanwhile.
                        let due = self.last_durable + GROUP_COMMIT;
                        if Instant::now() >= due {
                            self.begin_durable();
                        } else {
                            self.flush_due.get_or_insert(due);
                        }
                    }
                }
                written = durable::finished(&mut self.checkpoint), if self.writing() => {
                    self.became_durable(written?);
                    self.send_status(&mut stream, false).await?;
                }
                // A tenant's small batch has waited long enough: the next turn sends it.
                _ = tokio::time::sleep_until(self.send_due.unwrap_or_else(Instant::now).into()), if self.send_due.is_some() => {
                    self.dispatch_due = true;
                }
                _ = tokio::time::sleep_until(self.flush_due.unwrap_or_else(Instant::now).into()), if self.flush_due.is_some() => {
                    self.flush_due = None;
                    self.begin_durable();
                }
                _ = ticker.tick() => {
                    self.begin_durable();
                    self.send_status(&mut stream, false).await?;
                    self.report();
                }
                _ = shutdown.changed(), if !self.shutting_down => {
                    tracing::info!("shutting down: finishing the calls in flight");
                    self.shutting_down = true;
                    for t in &self.tenants {
                        t.cancel_retries();
                    }
                }
            }
        }
    }

    fn reached_stop_position(&self) -> bool {
        !self.shutting_down
            && self.cfg.stop_at.is_some_and(|stop| self.received >= stop)
            && !self.assembler.in_transaction()
            && self.tenants.iter().all(|t| !t.active() || t.idle())
    }

    /// One pgoutput message from the server.
    async fn on_message(&mut self, data: &[u8], ctx: &DecodeContext) -> anyhow::Result<()> {
        if let Some(xid) = self.stream_block {
            // Inside Stream Start … Stream Stop: keep the message until the transaction commits.
            if data.first() == Some(&b'E') {
                self.stream_block = None;
            } else {
                self.streamed
                    .add(xid, data)
                    .context("holding a streamed transaction")?;
            }
            return Ok(());
        }
        match decode(data, ctx)? {
            Message::StreamStart(start) => self.stream_block = Some(start.xid),
            Message::StreamAbort(abort) => self.streamed.abort(abort.xid, abort.subxid),
            Message::StreamCommit(commit) => {
                self.assembler.begin_streamed(
                    commit.xid,
                    commit.commit_lsn,
                    commit.end_lsn,
                    commit.commit_time,
                );
                self.replay = Some(
                    self.streamed
                        .commit(commit.xid)
                        .context("reading back a streamed transaction")?,
                );
            }
            msg => {
                self.learn_types(&msg).await?;
                if let Some(txn) = self.assembler.apply(msg)? {
                    self.transactions += 1;
                    self.offer(txn, true).await;
                }
            }
        }
        Ok(())
    }

    async fn learn_types(&mut self, msg: &Message<'_>) -> anyhow::Result<()> {
        let unknown = self.assembler.unknown_types(msg);
        if !unknown.is_empty() {
            load_types(&self.client, self.assembler.types_mut(), Some(&unknown)).await?;
        }
        Ok(())
    }

    /// Replays some of a committed streamed transaction; hands it to the tenants in parts so
    /// that no more than a part is assembled at a time.
    async fn replay_step(&mut self) -> anyhow::Result<()> {
        const PART: usize = 10_000;
        let ctx = DecodeContext {
            in_stream: true,
            protocol_version: self.protocol,
        };
        for _ in 0..PART {
            let Some(replay) = self.replay.as_mut() else {
                return Ok(());
            };
            let Some(bytes) = replay
                .next_message()
                .context("reading back a streamed transaction")?
            else {
                self.replay = None;
                if let Some(last) = self.assembler.finish_streamed() {
                    tracing::debug!(xid = last.xid, "streamed transaction replayed");
                    self.transactions += 1;
                    self.offer(last, true).await;
                }
                return Ok(());
            };
            let msg = decode(&bytes, &ctx)?;
            let subxid = match &msg {
                Message::Insert(m) => m.xid,
                Message::Update(m) => m.xid,
                Message::Delete(m) => m.xid,
                Message::Truncate(m) => m.xid,
                _ => None,
            };
            if subxid.is_some_and(|x| replay.aborted.contains(&x)) {
                continue;
            }
            self.learn_types(&msg).await?;
            self.assembler.apply(msg)?;
            if self.assembler.open_changes() >= PART {
                if let Some(part) = self.assembler.take_part() {
                    self.offer(part, false).await;
                }
                return Ok(());
            }
        }
        Ok(())
    }

    async fn offer(&mut self, txn: Transaction, last: bool) {
        self.dispatch_due = true;
        let mut failed = Vec::new();
        match self.tenants.as_mut_slice() {
            [only] if only.routes_everything() => {
                if let Err(e) = only.push(txn, last) {
                    failed.push((0, e));
                }
            }
            tenants => {
                for (i, t) in tenants.iter_mut().enumerate() {
                    if let Err(e) = t.offer_part(&txn, last) {
                        failed.push((i, e));
                    }
                }
            }
        }
        for (i, reason) in failed {
            self.quarantine(i, reason).await;
        }
    }

    async fn dispatch(&mut self) {
        self.dispatch_due = false;
        self.send_due = None;
        if self.shutting_down {
            return;
        }
        let mut failed = Vec::new();
        let now = Instant::now();
        for (i, t) in self.tenants.iter_mut().enumerate() {
            match t.dispatch(&mut self.next_token, now) {
                Ok(Some(due)) => self.send_due = Some(self.send_due.map_or(due, |d| d.min(due))),
                Ok(None) => {}
                Err(e) => failed.push((i, e)),
            }
        }
        for (i, reason) in failed {
            self.quarantine(i, reason).await;
        }
    }

    async fn quarantine(&mut self, index: usize, reason: String) {
        if let Some(worker) = self.tenants[index].quarantine(reason) {
            shut_down_worker(worker).await;
        }
    }

    /// Returns whether a sink accepted a batch that moved its position.
    async fn on_outcome(&mut self, outcome: Option<Outcome>) -> anyhow::Result<bool> {
        self.dispatch_due = true;
        let Some(outcome) = outcome else {
            anyhow::bail!("the sink threads stopped unexpectedly");
        };
        let token = match &outcome {
            Outcome::Accepted { token }
            | Outcome::Failed { token, .. }
            | Outcome::Cancelled { token } => *token,
        };
        let Some(index) = self
            .tenants
            .iter()
            .position(|t| t.in_flight.as_ref().is_some_and(|f| f.token == token))
        else {
            return Ok(false);
        };
        match outcome {
            Outcome::Accepted { .. } => Ok(self.tenants[index].accepted_in_flight()),
            Outcome::Cancelled { .. } => {
                self.tenants[index].in_flight = None;
                Ok(false)
            }
            Outcome::Failed { error, .. } => {
                if !self.cfg.quarantine {
                    let t = &self.tenants[index];
                    return Err(SetupError::new(format!(
                        "{error}; nothing after {} was acknowledged, so the changes stay in slot \
                         {:?} until the sink accepts them",
                        t.durable.lsn, self.cfg.spec.slot
                    ))
                    .into());
                }
                self.quarantine(index, error).await;
                Ok(false)
            }
        }
    }

    /// Waits for the calls in flight (after the connection dropped), keeping their results.
    async fn drain_in_flight(&mut self) -> anyhow::Result<()> {
        while self.tenants.iter().any(|t| t.in_flight.is_some()) {
            let outcome = self.outcomes.recv().await;
            self.on_outcome(outcome).await?;
        }
        self.make_durable_now().await
    }

    /// After a reconnect the server resends everything after the slot position; each tenant
    /// skips what it accepted.
    fn forget_undelivered(&mut self) {
        self.dispatch_due = true;
        self.assembler.reset();
        self.streamed.clear();
        self.stream_block = None;
        self.replay = None;
        for t in &mut self.tenants {
            t.clear_queue();
            t.skip = t.durable;
        }
    }

    fn writing(&self) -> bool {
        self.checkpoint.as_ref().is_some_and(DurableWriter::busy)
    }

    /// Starts writing every tenant's accepted position to the checkpoint file if any moved and no
    /// write is under way (when one is, [`Loop::became_durable`] schedules the next).
    fn begin_durable(&mut self) {
        if self.tenants.iter().all(|t| t.position() == t.durable) {
            return;
        }
        let Some(writer) = self.checkpoint.as_mut().filter(|w| !w.busy()) else {
            return;
        };
        self.flush_due = None;
        writer.start(
            self.tenants
                .iter()
                .map(|t| (t.id.to_string(), t.position()))
                .collect(),
        );
    }

    /// A checkpoint write finished: these positions (in tenant order) are on disk. What moved
    /// while it ran goes into the next write, a group-commit window after this one.
    fn became_durable(&mut self, written: Vec<Position>) {
        self.last_durable = Instant::now();
        for (t, p) in self.tenants.iter_mut().zip(written) {
            t.durable = p;
        }
        if self.tenants.iter().any(|t| t.position() != t.durable) {
            self.flush_due
                .get_or_insert(self.last_durable + GROUP_COMMIT);
        }
    }

    /// Makes every accepted position durable before returning (a stop, a reconnect).
    async fn make_durable_now(&mut self) -> anyhow::Result<()> {
        // The write under way, then one of whatever moved since.
        self.settle_write().await?;
        self.begin_durable();
        self.settle_write().await?;
        self.flush_due = None;
        Ok(())
    }

    async fn settle_write(&mut self) -> anyhow::Result<()> {
        if let Some(writer) = self.checkpoint.as_mut() {
            if let Some(written) = writer.settle().await? {
                self.became_durable(written);
            }
        }
        Ok(())
    }

    /// Tells the server what is durable: the slot may move up to the least tenant position on
    /// disk.
    async fn send_status(
        &mut self,
        stream: &mut ReplicationStream,
        reply: bool,
    ) -> anyhow::Result<()> {
        let flush = self.slot_position().max(self.confirmed);
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
        let limit = self.cfg.max_wal_lag_bytes;
        for t in &mut self.tenants {
            let lag = self.received.0.saturating_sub(t.durable.lsn.0);
            let recently = t
                .lag_warned
                .is_some_and(|at| at.elapsed() < Duration::from_secs(60));
            if lag > limit && !recently {
                tracing::warn!(
                    tenant = %t.id,
                    "tenant holds back {} MiB of WAL (position {}, server at {}): the slot cannot \
                     advance past it",
                    lag >> 20,
                    t.durable.lsn,
                    self.received
                );
                t.lag_warned = Some(Instant::now());
            }
        }
        if let Err(e) = status::write(&self.cfg.state_dir, &self.status(true)) {
            tracing::debug!("could not write the status file: {e}");
        }
    }

    fn status(&self, running: bool) -> RunStatus {
        RunStatus {
            pid: std::process::id(),
            updated_at: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            running,
            slot: self.cfg.spec.slot.clone(),
            publication: self.cfg.spec.publication.clone(),
            received_lsn: self.received.to_string(),
            confirmed_lsn: self.confirmed.to_string(),
            tenants: self
                .tenants
                .iter()
                .map(|t| {
                    let (state, reason) = match &t.state {
                        TenantState::Active => ("active", None),
                        TenantState::Quarantined { reason } => {
                            ("quarantined", Some(reason.clone()))
                        }
                    };
                    TenantStatus {
                        id: t.id.to_string(),
                        state: state.into(),
                        reason,
                        position_lsn: t.durable.lsn.to_string(),
                        queued_changes: t.queued_changes(),
                        spilled_changes: t.spilled_changes(),
                        delivered_changes: t.stats.delivered_changes,
                        delivered_batches: t.stats.delivered_batches,
                        lag_bytes: self.received.0.saturating_sub(t.durable.lsn.0),
                    }
                })
                .collect(),
        }
    }

    /// After the last status update: confirm the slot moved, then close the sinks.
    async fn finish(mut self) -> anyhow::Result<Summary> {
        let mut summary = Summary {
            transactions: self.transactions,
            confirmed: self.confirmed,
            ..Summary::default()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // A stop while the server is away (say, during a reconnect) is still a clean stop:
            // our checkpoint holds every position, and the slot catches up at the next start.
            let slot = match setup::slot_confirmed_lsn(&self.client, &self.cfg.spec.slot).await {
                Ok(slot) => slot,
                Err(e) => {
                    tracing::warn!(
                        "could not read the slot's position ({e}); the checkpoint holds {}",
                        summary.confirmed
                    );
                    break;
                }
            };
            summary.slot_confirmed = slot;
            if slot.is_some_and(|s| s >= summary.confirmed) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for t in &mut self.tenants {
            if let Some(worker) = t.take_worker() {
                shut_down_worker(worker).await;
            }
        }
        let status = self.status(false);
        if let Err(e) = status::write(&self.cfg.state_dir, &status) {
            tracing::debug!("could not write the status file: {e}");
        }
        summary.tenants = status.tenants;
        Ok(summary)
    }
}

/// Stops a sink thread (calling its `close`) off the async threads.
async fn shut_down_worker(worker: SinkWorker) {
    match tokio::task::spawn_blocking(move || worker.shut_down()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("sink close failed: {e}"),
        Err(e) => tracing::warn!("sink thread could not be joined: {e}"),
    }
}
