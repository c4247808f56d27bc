//! In-progress transactions streamed by the server (pgoutput v2 `streaming`), held until they
//! commit.
//!
//! The server sends a large transaction's changes while it is still being written, in blocks
//! between Stream Start and Stream Stop, interleaved with other transactions. Nothing of it may
//! reach a sink before its Stream Commit (it may yet abort, wholly or a subtransaction at a time),
//! so the raw messages are kept: in memory up to a bound shared by all open streamed
//! transactions, then appended to a spill file per transaction. On commit they are replayed in
//! order through the decoder and assembler; on abort they are dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

struct Held {
    memory: Vec<Bytes>,
    memory_bytes: usize,
    spill: Option<(BufWriter<File>, PathBuf)>,
    /// Subtransactions rolled back: their changes are skipped on replay.
    aborted: HashSet<u32>,
}

/// The open streamed transactions, by top-level xid.
pub struct StreamedTransactions {
    dir: PathBuf,
    memory_limit: usize,
    memory_used: usize,
    held: HashMap<u32, Held>,
    spilled_bytes: u64,
}

impl StreamedTransactions {
    /// `dir`: where spill files go (created on first use); `memory_limit`: bytes of messages held
    /// in memory across all open streamed transactions before spilling.
    pub fn new(dir: &Path, memory_limit: usize) -> StreamedTransactions {
        StreamedTransactions {
            dir: dir.to_path_buf(),
            memory_limit,
            memory_used: 0,
            held: HashMap::new(),
            spilled_bytes: 0,
        }
    }

    /// Bytes written to spill files so far (for the logs and the benchmark).
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes
    }

    /// Keeps one message of streamed transaction `xid`.
    pub fn add(&mut self, xid: u32, message: &[u8]) -> std::io::Result<()> {
        let over = self.memory_used + message.len() > self.memory_limit;
        let dir = self.dir.clone();
        let held = self.held.entry(xid).or_insert_with(|| Held {
            memory: Vec::new(),
            memory_bytes: 0,
            spill: None,
            aborted: HashSet::new(),
        });
        if held.spill.is_none() && over {
            // Move this transaction's messages to disk; from now on they go straight there.
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("stream-{xid}-{}.spill", std::process::id()));
            let mut file = BufWriter::with_capacity(256 << 10, File::create(&path)?);
            for m in held.memory.drain(..) {
                write_frame(&mut file, &m)?;
                self.spilled_bytes += m.len() as u64 + 4;
            }
            self.memory_used -= held.memory_bytes;
            held.memory_bytes = 0;
            held.spill = Some((file, path));
            tracing::info!(xid, "spilling a large in-progress transaction to disk");
        }
        match &mut held.spill {
            Some((file, _)) => {
                write_frame(file, message)?;
                self.spilled_bytes += message.len() as u64 + 4;
            }
            None => {
                held.memory.push(Bytes::copy_from_slice(message));
                held.memory_bytes += message.len();
                self.memory_used += message.len();
            }
        }
        Ok(())
    }

    /// A Stream Abort: the whole transaction (`subxid == xid`) or one subtransaction.
    pub fn abort(&mut self, xid: u32, subxid: u32) {
        if subxid == xid {
            if let Some(held) = self.held.remove(&xid) {
                self.release(held);
            }
        } else if let Some(held) = self.held.get_mut(&xid) {
            held.aborted.insert(subxid);
        }
    }

    /// A Stream Commit: the transaction's messages, in order, and the subtransactions to skip.
    pub fn commit(&mut self, xid: u32) -> std::io::Result<Replay> {
        let Some(mut held) = self.held.remove(&xid) else {
            return Ok(Replay::empty());
        };
        self.memory_used -= held.memory_bytes;
        let aborted = std::mem::take(&mut held.aborted);
        let source = match held.spill.take() {
            Some((file, path)) => {
                let file = file.into_inner().map_err(|e| e.into_error())?;
                drop(file);
                let reader = BufReader::with_capacity(256 << 10, File::open(&path)?);
                // Unlinked now: the open handle keeps it readable, and nothing is left behind.
                let _ = std::fs::remove_file(&path);
                Source::File(reader)
            }
            None => Source::Memory(held.memory.into()),
        };
        Ok(Replay { source, aborted })
    }

    /// Drops everything (after a reconnect the server streams it again).
    pub fn clear(&mut self) {
        for (_, held) in std::mem::take(&mut self.held) {
            self.release(held);
        }
        self.memory_used = 0;
    }

    fn release(&mut self, held: Held) {
        self.memory_used -= held.memory_bytes;
        if let Some((file, path)) = held.spill {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
}

fn write_frame(out: &mut impl Write, message: &[u8]) -> std::io::Result<()> {
    let len =
        u32::try_from(message.len()).map_err(|_| std::io::Error::other("message over 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(message)
}

enum Source {
    Memory(VecDeque<Bytes>),
    File(BufReader<File>),
}

/// The messages of a committed streamed transaction, read back in order.
pub struct Replay {
    source: Source,
    /// Subtransactions whose changes are skipped.
    pub aborted: HashSet<u32>,
}

impl Replay {
    fn empty() -> Replay {
        Replay {
            source: Source::Memory(VecDeque::new()),
            aborted: HashSet::new(),
        }
    }

    /// The next message, or `None` at the end.
    pub fn next_message(&mut self) -> std::io::Result<Option<Bytes>> {
        match &mut self.source {
            Source::Memory(queue) => Ok(queue.pop_front()),
            Source::File(reader) => {
                let mut len = [0u8; 4];
                match reader.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
                reader.read_exact(&mut buf)?;
                Ok(Some(Bytes::from(buf)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut r: Replay) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| r.next_message().unwrap())
            .map(|b| b.to_vec())
            .collect()
    }

    #[test]
    fn keeps_order_across_memory_and_spill_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = StreamedTransactions::new(dir.path(), 10);
        s.add(7, b"aaaa").unwrap();
        s.add(8, b"x").unwrap();
        s.add(7, b"bbbb").unwrap();
        s.add(7, b"cccc").unwrap(); // over the bound: 7 spills, earlier messages first
        s.add(7, b"dd").unwrap();
        assert!(s.spilled_bytes() > 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let replay = s.commit(7).unwrap();
        assert_eq!(
            drain(replay),
            [
                b"aaaa".to_vec(),
                b"bbbb".to_vec(),
                b"cccc".to_vec(),
                b"dd".to_vec()
            ]
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "spill file removed"
        );
        assert_eq!(drain(s.commit(8).unwrap()), [b"x".to_vec()]);
        assert_eq!(s.memory_used, 0);
    }

    #[test]
    fn aborts_drop_a_transaction_or_mark_a_subtransaction() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = StreamedTransactions::new(dir.path(), 1 << 20);
        s.add(7, b"a").unwrap();
        s.add(9, b"b").unwrap();
        s.abort(7, 7);
        assert!(drain(s.commit(7).unwrap()).is_empty());
        s.abort(9, 10);
        let r = s.commit(9).unwrap();
        assert!(r.aborted.contains(&10));
        assert_eq!(drain(r), [b"b".to_vec()]);
        assert_eq!(s.memory_used, 0);
    }
}
