//! The CopyBoth phase of a replication connection: WAL data in, standby status out.

use bytes::{Buf, Bytes};

use super::wire::{parse_error, Connection, WireError};
use crate::event::Lsn;

/// What the server sends while streaming.
#[derive(Debug)]
pub enum ServerMessage {
    /// A pgoutput message that starts at `wal_start`.
    XLogData {
        wal_start: Lsn,
        wal_end: Lsn,
        data: Bytes,
    },
    /// The server's current WAL end; `reply_requested` means answer now or be disconnected.
    Keepalive { wal_end: Lsn, reply_requested: bool },
    /// The server ended the stream (CopyDone).
    End,
}

/// A replication connection after START_REPLICATION.
pub struct ReplicationStream {
    conn: Connection,
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

impl ReplicationStream {
    pub fn new(conn: Connection) -> ReplicationStream {
        ReplicationStream { conn }
    }

    /// Waits for the next message. Cancel-safe: can be used in `select!`.
    pub async fn recv(&mut self) -> Result<ServerMessage, WireError> {
        loop {
            let frame = self.conn.read_frame().await?;
            match frame.tag {
                b'd' => return parse_copy_data(frame.body),
                b'c' => return Ok(ServerMessage::End),
                b'E' => return Err(parse_error(frame)?.into()),
                b'N' | b'S' => continue,
                other => return Err(WireError::Unexpected(other as char)),
            }
        }
    }

    /// Sends a standby status update. `flush` is what PostgreSQL may discard WAL up to.
    pub async fn send_status(
        &mut self,
        write: Lsn,
        flush: Lsn,
        reply_requested: bool,
    ) -> Result<(), WireError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
            - PG_EPOCH_OFFSET_MICROS;
        let mut msg = [0u8; 34];
        msg[0] = b'r';
        msg[1..9].copy_from_slice(&write.0.to_be_bytes());
        msg[9..17].copy_from_slice(&flush.0.to_be_bytes());
        msg[17..25].copy_from_slice(&flush.0.to_be_bytes());
        msg[25..33].copy_from_slice(&now.to_be_bytes());
        msg[33] = reply_requested as u8;
        self.conn.queue_copy_data(&msg)?;
        self.conn.flush().await
    }

    /// Ends the stream politely: CopyDone, then Terminate.
    pub async fn finish(mut self) -> Result<(), WireError> {
        self.conn.queue_copy_done();
        self.conn.queue_terminate();
        self.conn.flush().await
    }
}

fn parse_copy_data(mut body: Bytes) -> Result<ServerMessage, WireError> {
    let malformed = |what: &str| {
        WireError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("malformed {what} message from the server"),
        ))
    };
    match body.first() {
        Some(b'w') if body.len() >= 25 => {
            body.advance(1);
            let wal_start = Lsn(body.get_u64());
            let wal_end = Lsn(body.get_u64());
            let _send_time = body.get_i64();
            Ok(ServerMessage::XLogData {
                wal_start,
                wal_end,
                data: body,
            })
        }
        Some(b'k') if body.len() >= 18 => {
            body.advance(1);
            let wal_end = Lsn(body.get_u64());
            let _send_time = body.get_i64();
            Ok(ServerMessage::Keepalive {
                wal_end,
                reply_requested: body.get_u8() == 1,
            })
        }
        Some(b'w') => Err(malformed("XLogData")),
        Some(b'k') => Err(malformed("keepalive")),
        _ => Err(malformed("CopyData")),
    }
}
