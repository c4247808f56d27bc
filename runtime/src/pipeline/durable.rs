//! Writing tenants' positions to the checkpoint file off the replication loop's thread.
//!
//! A checkpoint write is a temporary file, an fsync, a rename and an fsync of the directory:
//! half a millisecond on a quiet local disk, several on a busy or networked one. The loop runs on
//! a single thread, so a write made there stopped it reading the socket and feeding the sinks for
//! that long, up to a hundred times a second (one write per [group-commit] window). Here the write
//! runs on tokio's blocking pool while the loop goes on; the loop learns which positions became
//! durable when it finishes, and only then tells the server (the slot never passes what is on
//! disk). At most one write is under way; positions that move meanwhile go into the next one.
//!
//! The positions go to a [`PositionStore`]: the checkpoint file, or memory in tests.
//!
//! [group-commit]: GROUP_COMMIT

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::task::JoinHandle;

use super::failpoint::{self, Failpoints};
use super::tenants::Tenants;
use crate::checkpoint::{Position, PositionStore};

/// The shortest time between two checkpoint writes while sinks keep accepting batches: one
/// fsync then covers every batch accepted in the window (with a hundred tenants each accepting
/// its own small batches, an fsync per batch was the ceiling). A crash inside the window only
/// means those batches are delivered again; the server is never told before the write.
pub(super) const GROUP_COMMIT: Duration = Duration::from_millis(10);

/// The checkpoint store, and the write under way, if any.
pub(super) struct DurableWriter {
    store: Arc<dyn PositionStore>,
    writing: Option<Write>,
    failpoints: Failpoints,
}

struct Write {
    /// Each tenant's position (by index) as it is being written.
    positions: Vec<Position>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl DurableWriter {
    pub fn new(store: Arc<dyn PositionStore>, failpoints: Failpoints) -> DurableWriter {
        DurableWriter {
            store,
            writing: None,
            failpoints,
        }
    }

    pub fn store(&self) -> &dyn PositionStore {
        &*self.store
    }

    pub fn busy(&self) -> bool {
        self.writing.is_some()
    }

    /// Starts writing `positions` (tenant id and position, in tenant order); the caller checks
    /// [`DurableWriter::busy`] first.
    pub fn start(&mut self, positions: Vec<(String, Position)>) {
        debug_assert!(self.writing.is_none(), "one checkpoint write at a time");
        let snapshot = positions.iter().map(|(_, p)| *p).collect();
        let by_tenant: BTreeMap<String, Position> = positions.into_iter().collect();
        let store = self.store.clone();
        let fail = self.failpoints.hit(failpoint::CHECKPOINT_WRITE);
        let task = tokio::task::spawn_blocking(move || {
            if fail {
                anyhow::bail!(
                    "failpoint {}: the write failed",
                    failpoint::CHECKPOINT_WRITE
                );
            }
            store.store(&by_tenant)
        });
        self.writing = Some(Write {
            positions: snapshot,
            task,
        });
    }

    /// Waits for the write under way (forever if there is none, so that it can sit in a
    /// `select!` guarded by [`DurableWriter::busy`]); returns the positions it made durable.
    /// Cancel-safe: the write goes on, and a later call picks up its result.
    pub async fn finished(&mut self) -> anyhow::Result<Vec<Position>> {
        let Some(write) = self.writing.as_mut() else {
            return std::future::pending().await;
        };
        let result = (&mut write.task).await;
        let write = self.writing.take().expect("the write just finished");
        result.context("the checkpoint write stopped unexpectedly")??;
        Ok(write.positions)
    }

    /// Waits for the write under way, if any; see [`DurableWriter::finished`].
    pub async fn settle(&mut self) -> anyhow::Result<Option<Vec<Position>>> {
        if self.busy() {
            self.finished().await.map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Group commit: when tenants' accepted positions are written, and what is on disk.
pub(super) struct Durability {
    /// The checkpoint store, from the first connection on (its name depends on the server).
    writer: Option<DurableWriter>,
    /// When positions were last written, and when accepted ones wait to be (see
    /// [`GROUP_COMMIT`]).
    last_durable: Instant,
    flush_due: Option<Instant>,
}

impl Durability {
    pub fn new() -> Durability {
        Durability {
            writer: None,
            last_durable: Instant::now(),
            flush_due: None,
        }
    }

    pub fn open(&mut self, writer: DurableWriter) {
        self.writer = Some(writer);
    }

    pub fn store(&self) -> Option<&dyn PositionStore> {
        self.writer.as_ref().map(DurableWriter::store)
    }

    /// A write is under way.
    pub fn writing(&self) -> bool {
        self.writer.as_ref().is_some_and(DurableWriter::busy)
    }

    /// When accepted positions are due to be written, if they wait.
    pub fn flush_due(&self) -> Option<Instant> {
        self.flush_due
    }

    /// A sink did real work: make it durable (then the server is told), now if the last write
    /// is a group-commit window old, else at the window's end together with whatever else is
    /// accepted meanwhile.
    pub fn accepted(&mut self, tenants: &Tenants) {
        let due = self.last_durable + GROUP_COMMIT;
        if Instant::now() >= due {
            self.begin(tenants);
        } else {
            self.flush_due.get_or_insert(due);
        }
    }

    /// Starts writing every tenant's accepted position if any moved and no write is under way
    /// (when one is, [`Durability::became_durable`] schedules the next).
    pub fn begin(&mut self, tenants: &Tenants) {
        if !tenants.moved() {
            return;
        }
        let Some(writer) = self.writer.as_mut().filter(|w| !w.busy()) else {
            return;
        };
        self.flush_due = None;
        writer.start(tenants.positions());
    }

    /// A write finished: these positions (in tenant order) are on disk. What moved while it
    /// ran goes into the next write, a group-commit window after this one.
    pub fn became_durable(&mut self, tenants: &mut Tenants, written: Vec<Position>) {
        self.last_durable = Instant::now();
        tenants.made_durable(written);
        if tenants.moved() {
            self.flush_due
                .get_or_insert(self.last_durable + GROUP_COMMIT);
        }
    }

    /// Waits for the write under way; pending forever when there is none (see
    /// [`DurableWriter::finished`]).
    pub async fn finished(&mut self) -> anyhow::Result<Vec<Position>> {
        match &mut self.writer {
            Some(w) => w.finished().await,
            None => std::future::pending().await,
        }
    }

    /// Makes every accepted position durable before returning (a stop, a reconnect).
    pub async fn now(&mut self, tenants: &mut Tenants) -> anyhow::Result<()> {
        // The write under way, then one of whatever moved since.
        self.settle(tenants).await?;
        self.begin(tenants);
        self.settle(tenants).await?;
        self.flush_due = None;
        Ok(())
    }

    async fn settle(&mut self, tenants: &mut Tenants) -> anyhow::Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            if let Some(written) = writer.settle().await? {
                self.became_durable(tenants, written);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{CheckpointStore, StreamId};
    use crate::event::Lsn;

    #[tokio::test]
    async fn a_write_reports_what_it_made_durable() {
        let dir = tempfile::tempdir().unwrap();
        let stream = StreamId {
            system_id: "1".into(),
            database: "db".into(),
            slot: "s".into(),
        };
        let mut w = DurableWriter::new(
            Arc::new(CheckpointStore::new(dir.path(), stream)),
            Failpoints::default(),
        );
        assert!(w.settle().await.unwrap().is_none(), "nothing under way");
        w.start(vec![
            ("a".into(), Position::at(Lsn(10))),
            ("b".into(), Position::at(Lsn(20))),
        ]);
        assert!(w.busy());
        let written = w.finished().await.unwrap();
        assert_eq!(written, vec![Position::at(Lsn(10)), Position::at(Lsn(20))]);
        assert!(!w.busy());
        let on_disk = w.store().load().unwrap();
        assert_eq!(on_disk.get("b"), Some(&Position::at(Lsn(20))));
    }
}
