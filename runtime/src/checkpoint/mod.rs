//! Durable positions: per tenant, the end LSN of the last transaction its sink accepted.
//!
//! PostgreSQL's slot remembers what we confirmed too, but the slot's position is written to disk
//! only at the server's checkpoints and can move backwards after a server crash, and a status
//! update can be lost with the connection. Our own copy, made durable *before* we tell the server,
//! is what guarantees a transaction accepted by the sink is not delivered again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::source::lsn::Lsn;

/// Which stream a position belongs to. A checkpoint is only trusted for the same server, database
/// and slot: reusing a state directory against another database must not skip its changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamId {
    pub system_id: String,
    pub database: String,
    pub slot: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    stream: StreamId,
    /// Tenant id → position in PostgreSQL's X/X form, so the file is readable by people.
    positions: BTreeMap<String, String>,
}

/// Every tenant's position for one stream, in one file, replaced atomically: one fsync covers
/// all tenants.
pub struct CheckpointStore {
    path: PathBuf,
    stream: StreamId,
}

impl CheckpointStore {
    pub fn new(state_dir: &Path, stream: StreamId) -> CheckpointStore {
        let name = format!(
            "{}-{}-{}.json",
            stream.system_id,
            sanitize(&stream.database),
            sanitize(&stream.slot)
        );
        CheckpointStore {
            path: state_dir.join("checkpoints").join(name),
            stream,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored positions for this stream (empty when there are none).
    pub fn load(&self) -> anyhow::Result<BTreeMap<String, Lsn>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        let stored: Stored = serde_json::from_str(&text).with_context(|| {
            format!(
                "checkpoint file {} is corrupt; move it away to start from the slot's position",
                self.path.display()
            )
        })?;
        if stored.stream != self.stream {
            return Ok(BTreeMap::new());
        }
        stored
            .positions
            .into_iter()
            .map(|(tenant, lsn)| Ok((tenant, lsn.parse().map_err(anyhow::Error::msg)?)))
            .collect()
    }

    /// Makes `positions` durable: written to a temporary file, fsynced, renamed over the old one,
    /// and the directory fsynced so the rename itself survives a crash.
    pub fn store(&self, positions: &BTreeMap<String, Lsn>) -> anyhow::Result<()> {
        let dir = self
            .path
            .parent()
            .context("checkpoint path has no directory")?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating state directory {}", dir.display()))?;
        let stored = Stored {
            stream: self.stream.clone(),
            positions: positions
                .iter()
                .map(|(t, l)| (t.clone(), l.to_string()))
                .collect(),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        // One write: serde_json writes token by token, and a file handle is unbuffered.
        let mut bytes = serde_json::to_vec_pretty(&stored)?;
        bytes.push(b'\n');
        tmp.write_all(&bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path)
            .with_context(|| format!("replacing {}", self.path.display()))?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(slot: &str) -> StreamId {
        StreamId {
            system_id: "7312".into(),
            database: "app".into(),
            slot: slot.into(),
        }
    }

    #[test]
    fn stores_and_reloads_only_for_the_same_stream() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(dir.path(), stream("s1"));
        assert!(store.load().unwrap().is_empty());
        let mut positions = BTreeMap::new();
        positions.insert("a".to_string(), Lsn(0x16_B374_D848));
        store.store(&positions).unwrap();
        positions.insert("a".to_string(), Lsn(0x16_B374_D900));
        positions.insert("b".to_string(), Lsn(7));
        store.store(&positions).unwrap();
        assert_eq!(store.load().unwrap(), positions);
        assert!(CheckpointStore::new(dir.path(), stream("s2"))
            .load()
            .unwrap()
            .is_empty());
        let other_system = StreamId {
            system_id: "9999".into(),
            ..stream("s1")
        };
        assert!(CheckpointStore::new(dir.path(), other_system)
            .load()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(dir.path(), stream("s1"));
        std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        std::fs::write(store.path(), "{not json").unwrap();
        let err = store.load().unwrap_err();
        assert!(format!("{err:#}").contains("corrupt"), "{err:#}");
    }
}
