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
//! [group-commit]: super::session

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;

use crate::checkpoint::{CheckpointStore, Position};

/// The checkpoint file, and the write under way, if any.
pub(super) struct DurableWriter {
    store: Arc<CheckpointStore>,
    writing: Option<Write>,
}

struct Write {
    /// Each tenant's position (by index) as it is being written.
    positions: Vec<Position>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl DurableWriter {
    pub fn new(store: CheckpointStore) -> DurableWriter {
        DurableWriter {
            store: Arc::new(store),
            writing: None,
        }
    }

    pub fn store(&self) -> &CheckpointStore {
        &self.store
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
        let task = tokio::task::spawn_blocking(move || store.store(&by_tenant));
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

/// [`DurableWriter::finished`] of a writer that may not exist yet (pending forever then), taking
/// only the field so that the loop's other `select!` branches can borrow the rest.
pub(super) async fn finished(writer: &mut Option<DurableWriter>) -> anyhow::Result<Vec<Position>> {
    match writer {
        Some(w) => w.finished().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::StreamId;
    use crate::event::Lsn;

    #[tokio::test]
    async fn a_write_reports_what_it_made_durable() {
        let dir = tempfile::tempdir().unwrap();
        let stream = StreamId {
            system_id: "1".into(),
            database: "db".into(),
            slot: "s".into(),
        };
        let mut w = DurableWriter::new(CheckpointStore::new(dir.path(), stream));
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
