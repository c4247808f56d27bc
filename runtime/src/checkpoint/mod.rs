//! Durable positions: per tenant, the end LSN of the last transaction its sink accepted, and how
//! far into the next one it got when that one was delivered in slices.
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

use crate::event::Lsn;

/// Which stream a position belongs to. A checkpoint is only trusted for the same server, database
/// and slot: reusing a state directory against another database must not skip its changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamId {
    pub system_id: String,
    pub database: String,
    pub slot: String,
}

/// Where a tenant stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// End LSN of the last transaction the sink accepted whole. The slot never moves past the
    /// least of these: the server is never told about part of a transaction.
    pub lsn: Lsn,
    /// The transaction after `lsn`, when its first slices were accepted but not its last: after a
    /// restart (a deploy's SIGTERM, or a crash) its delivery resumes after the change it names
    /// instead of from its start, so a large transaction is not delivered twice.
    pub partial: Option<Partial>,
}

/// Part of one transaction accepted: its changes up to and including `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    pub end_lsn: Lsn,
    pub seq: u32,
}

impl Position {
    pub fn at(lsn: Lsn) -> Position {
        Position { lsn, partial: None }
    }

    /// Whether the change `seq` of the transaction ending at `end_lsn` was accepted.
    pub fn covers(&self, end_lsn: Lsn, seq: u32) -> bool {
        end_lsn <= self.lsn
            || self
                .partial
                .is_some_and(|p| p.end_lsn == end_lsn && seq <= p.seq)
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.lsn)?;
        if let Some(p) = self.partial {
            write!(
                f,
                " and change {} of the transaction ending at {}",
                p.seq, p.end_lsn
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    stream: StreamId,
    /// Tenant id → position, LSNs in PostgreSQL's X/X form so the file is readable by people.
    positions: BTreeMap<String, StoredPosition>,
}

/// A bare `"X/X"` when no transaction is part-way (and in files written before slices were
/// tracked), else an object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredPosition {
    Lsn(String),
    Partial {
        lsn: String,
        partial_end_lsn: String,
        partial_seq: u32,
    },
}

impl StoredPosition {
    fn from_position(p: &Position) -> StoredPosition {
        match p.partial.filter(|partial| partial.end_lsn > p.lsn) {
            None => StoredPosition::Lsn(p.lsn.to_string()),
            Some(partial) => StoredPosition::Partial {
                lsn: p.lsn.to_string(),
                partial_end_lsn: partial.end_lsn.to_string(),
                partial_seq: partial.seq,
            },
        }
    }

    fn into_position(self) -> Result<Position, String> {
        Ok(match self {
            StoredPosition::Lsn(lsn) => Position::at(lsn.parse()?),
            StoredPosition::Partial {
                lsn,
                partial_end_lsn,
                partial_seq,
            } => Position {
                lsn: lsn.parse()?,
                partial: Some(Partial {
                    end_lsn: partial_end_lsn.parse()?,
                    seq: partial_seq,
                }),
            },
        })
    }
}

/// Where tenants' positions are kept between runs: a file in production ([`CheckpointStore`]),
/// memory in tests ([`MemoryStore`]). The pipeline tells the server a position only after
/// `store` returned for it.
pub trait PositionStore: Send + Sync + 'static {
    /// The stored positions (empty when there are none).
    fn load(&self) -> anyhow::Result<BTreeMap<String, Position>>;
    /// Makes `positions` durable; they replace what was stored.
    fn store(&self, positions: &BTreeMap<String, Position>) -> anyhow::Result<()>;
    /// Where the positions are, for messages (a file's path).
    fn location(&self) -> String;
}

/// Positions in memory: for in-process tests, and for seeing what a pipeline stored. Clones
/// share the same positions, so a test can keep one and hand another to a pipeline.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    positions: std::sync::Arc<std::sync::Mutex<BTreeMap<String, Position>>>,
}

impl MemoryStore {
    pub fn positions(&self) -> BTreeMap<String, Position> {
        self.positions.lock().expect("positions lock").clone()
    }
}

impl PositionStore for MemoryStore {
    fn load(&self) -> anyhow::Result<BTreeMap<String, Position>> {
        Ok(self.positions())
    }

    fn store(&self, positions: &BTreeMap<String, Position>) -> anyhow::Result<()> {
        *self.positions.lock().expect("positions lock") = positions.clone();
        Ok(())
    }

    fn location(&self) -> String {
        "memory".into()
    }
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
    pub fn load(&self) -> anyhow::Result<BTreeMap<String, Position>> {
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
            .map(|(tenant, p)| Ok((tenant, p.into_position().map_err(anyhow::Error::msg)?)))
            .collect()
    }

    /// Makes `positions` durable: written to a temporary file, fsynced, renamed over the old one,
    /// and the directory fsynced so the rename itself survives a crash.
    pub fn store(&self, positions: &BTreeMap<String, Position>) -> anyhow::Result<()> {
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
                .map(|(t, p)| (t.clone(), StoredPosition::from_position(p)))
                .collect(),
        };
        // One write: serde_json writes token by token, and a file handle is unbuffered.
        let mut bytes = serde_json::to_vec_pretty(&stored)?;
        bytes.push(b'\n');
        write_durably(&self.path, &bytes)
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file: written
/// to a temporary file, fsynced, renamed over the old one, and the directory fsynced so the
/// rename itself survives a crash. (Also the backfills' and the snapshot's progress files.)
pub fn write_durably(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .context("a state file path has no directory")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating state directory {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

impl PositionStore for CheckpointStore {
    fn load(&self) -> anyhow::Result<BTreeMap<String, Position>> {
        CheckpointStore::load(self)
    }

    fn store(&self, positions: &BTreeMap<String, Position>) -> anyhow::Result<()> {
        CheckpointStore::store(self, positions)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
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
        positions.insert("a".to_string(), Position::at(Lsn(0x16_B374_D848)));
        store.store(&positions).unwrap();
        positions.insert("a".to_string(), Position::at(Lsn(0x16_B374_D900)));
        positions.insert(
            "b".to_string(),
            Position {
                lsn: Lsn(7),
                partial: Some(Partial {
                    end_lsn: Lsn(0x20),
                    seq: 999,
                }),
            },
        );
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
    fn reads_files_from_before_partial_positions() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(dir.path(), stream("s1"));
        std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        std::fs::write(
            store.path(),
            r#"{"stream":{"system_id":"7312","database":"app","slot":"s1"},"positions":{"a":"16/B374D848"}}"#,
        )
        .unwrap();
        assert_eq!(
            store.load().unwrap()["a"],
            Position::at(Lsn(0x16_B374_D848))
        );
    }

    #[test]
    fn a_position_covers_whole_transactions_and_the_accepted_part_of_the_next() {
        let p = Position {
            lsn: Lsn(100),
            partial: Some(Partial {
                end_lsn: Lsn(200),
                seq: 4,
            }),
        };
        assert!(p.covers(Lsn(100), 50) && p.covers(Lsn(200), 4));
        assert!(!p.covers(Lsn(200), 5) && !p.covers(Lsn(150), 0) && !p.covers(Lsn(300), 0));
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
