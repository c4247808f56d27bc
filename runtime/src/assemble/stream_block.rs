//! Large transactions that PostgreSQL streams before they commit (pgoutput v2 `streaming`).
//!
//! Between Stream Start and Stream Stop the server sends the changes of a transaction that has
//! not committed yet, interleaved with other transactions' blocks. They are held, undecoded,
//! in [`StreamedTransactions`] (memory, then spill files) until Stream Commit, then replayed
//! through the [`Assembler`] like an ordinary transaction, leaving out the subtransactions that
//! were rolled back (Stream Abort). Holding them here keeps the replication loop ignorant of the
//! protocol's tags and subtransaction ids.

use std::path::Path;

use anyhow::Context as _;
use bytes::Bytes;

use super::{Assembler, Replay, StreamedTransactions};
use crate::decode::{self, decode, DecodeContext, Message};

/// What [`StreamBlocks::take`] made of a message.
pub enum Taken<'a> {
    /// Held for later, or a stream control message handled here.
    Held,
    /// An ordinary message for the assembler.
    Message(Message<'a>),
}

/// The next step of replaying a committed streamed transaction.
pub enum Replayed {
    /// A change message (already filtered for aborted subtransactions), to decode with
    /// [`StreamBlocks::replay_context`] and apply.
    Message(Bytes),
    /// The transaction is over: finish it in the assembler.
    Finished,
}

pub struct StreamBlocks {
    streamed: StreamedTransactions,
    /// The top-level xid of the Stream Start … Stream Stop block being received.
    block: Option<u32>,
    /// A committed streamed transaction being replayed, part by part.
    replay: Option<Replay>,
    protocol: u32,
}

impl StreamBlocks {
    /// `spill_dir` receives transactions past `memory_limit` bytes.
    pub fn new(spill_dir: &Path, memory_limit: usize, protocol: u32) -> StreamBlocks {
        StreamBlocks {
            streamed: StreamedTransactions::new(spill_dir, memory_limit),
            block: None,
            replay: None,
            protocol,
        }
    }

    /// Bytes written to spill files so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.streamed.spilled_bytes()
    }

    /// How messages outside a block decode.
    pub fn context(&self) -> DecodeContext {
        DecodeContext {
            in_stream: false,
            protocol_version: self.protocol,
        }
    }

    /// How replayed messages decode: they were sent inside a block, with their xid.
    pub fn replay_context(&self) -> DecodeContext {
        DecodeContext {
            in_stream: true,
            protocol_version: self.protocol,
        }
    }

    /// Takes one message from the server. Inside a block it is held; Stream Start, Abort and
    /// Commit are handled here (a commit starts a replay, see [`StreamBlocks::next_replayed`]);
    /// anything else is decoded and returned for the assembler.
    pub fn take<'a>(
        &mut self,
        data: &'a [u8],
        assembler: &mut Assembler,
    ) -> anyhow::Result<Taken<'a>> {
        if let Some(xid) = self.block {
            if decode::is_stream_stop(data) {
                self.block = None;
            } else {
                self.streamed
                    .add(xid, data)
                    .context("holding a streamed transaction")?;
            }
            return Ok(Taken::Held);
        }
        match decode(data, &self.context())? {
            Message::StreamStart(start) => self.block = Some(start.xid),
            Message::StreamAbort(abort) => self.streamed.abort(abort.xid, abort.subxid),
            Message::StreamCommit(commit) => {
                assembler.begin_streamed(
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
            msg => return Ok(Taken::Message(msg)),
        }
        Ok(Taken::Held)
    }

    /// A committed streamed transaction is being replayed.
    pub fn replaying(&self) -> bool {
        self.replay.is_some()
    }

    /// The next message of the transaction being replayed (`None` when none is).
    pub fn next_replayed(&mut self) -> anyhow::Result<Option<Replayed>> {
        let Some(replay) = self.replay.as_mut() else {
            return Ok(None);
        };
        loop {
            let Some(bytes) = replay
                .next_message()
                .context("reading back a streamed transaction")?
            else {
                self.replay = None;
                return Ok(Some(Replayed::Finished));
            };
            let aborted =
                decode::stream_change_xid(&bytes).is_some_and(|x| replay.aborted.contains(&x));
            if !aborted {
                return Ok(Some(Replayed::Message(bytes)));
            }
        }
    }

    /// Forgets everything held (after a reconnect the server sends it again).
    pub fn clear(&mut self) {
        self.streamed.clear();
        self.block = None;
        self.replay = None;
    }
}
