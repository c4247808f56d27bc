//! Opening a replication session: connect, identify, start streaming.

use super::conninfo::ConnInfo;
use super::quote::{quote_ident, quote_literal};
use super::setup::{slot_active, StreamSpec};
use super::stream::ReplicationStream;
use super::wire::{Connection, ServerError, WireError};
use crate::error::SetupError;
use crate::event::Lsn;

/// What IDENTIFY_SYSTEM says about the server.
#[derive(Debug, Clone)]
pub struct SystemInfo {
    pub system_id: String,
    pub timeline: u32,
    pub wal_position: Lsn,
    pub database: String,
}

pub async fn connect(info: &ConnInfo) -> Result<(Connection, SystemInfo), WireError> {
    let mut conn = Connection::connect(info)
        .await
        .map_err(|e| classify(e, info))?;
    let rows = conn.simple_query("IDENTIFY_SYSTEM").await?;
    let row = rows.first().ok_or(WireError::Unexpected('D'))?;
    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let system = SystemInfo {
        system_id: field(0),
        timeline: field(1).parse().unwrap_or(0),
        wal_position: field(2).parse().unwrap_or_default(),
        database: field(3),
    };
    Ok((conn, system))
}

/// Starts pgoutput streaming from `start` (or the slot's confirmed position, whichever is later:
/// the server decides). Protocol 2 (PostgreSQL 14+) with `streaming`, else 1.
pub async fn start(
    mut conn: Connection,
    spec: &StreamSpec,
    start: Lsn,
    protocol: u32,
) -> Result<ReplicationStream, WireError> {
    let options = if protocol >= 2 {
        // Large transactions arrive while they are written (and are held, spilled to disk, by
        // us until they commit) instead of after the server has decoded them whole. The server
        // streams a transaction once its decoded size passes this, so it also bounds what a
        // non-streamed transaction can cost us.
        conn.simple_query("SET logical_decoding_work_mem = '16MB'")
            .await?;
        // `messages`: our backfill watermarks (logical messages) come through in commit order.
        format!("proto_version '{protocol}', streaming 'on', messages 'true'")
    } else {
        "proto_version '1'".to_string()
    };
    let sql = format!(
        "START_REPLICATION SLOT {} LOGICAL {start} ({options}, publication_names {})",
        quote_ident(&spec.slot),
        quote_literal(&quote_ident(&spec.publication)),
    );

    match conn.start_copy_both(&sql).await {
        Ok(()) => Ok(ReplicationStream::new(conn)),
        Err(WireError::Server(e)) if e.code == "55006" => {
            let pid = e.message.rsplit(' ').next().and_then(|p| p.parse().ok());
            Err(slot_active(&spec.slot, pid).into())
        }
        Err(e) => Err(e),
    }
}

/// Turns the server's refusals at connect time into messages that say what to do.
fn classify(e: WireError, info: &ConnInfo) -> WireError {
    let WireError::Server(ServerError { code, message, .. }) = &e else {
        return e;
    };
    let text = match code.as_str() {
        "28P01" | "28000" if message.contains("replication") => format!(
            "the server refused a replication connection for user {:?}: {message}; allow it with \
             a 'host replication' or 'host all' line in pg_hba.conf",
            info.user
        ),
        "28P01" | "28000" => format!(
            "authentication failed for user {:?} at {}: {message}; check the user and password in \
             the source URL",
            info.user, info.endpoint
        ),
        "42501" => format!(
            "role {:?} lacks the REPLICATION attribute ({message}): run ALTER ROLE {} WITH \
             REPLICATION; as a superuser",
            info.user,
            quote_ident(&info.user)
        ),
        "55000" if message.contains("wal_level") => {
            format!("{message}: run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL")
        }
        _ => return e,
    };
    SetupError::new(text).into()
}
