//! The replication slot: created when missing, checked when it exists, and the errors for a slot
//! that is busy, gone or invalidated.

use tokio_postgres::Client;

use super::connect::sql_error;
use super::{SlotFound, StreamSpec};
use crate::checkpoint::{PositionStore, StreamId};
use crate::error::SetupError;
use crate::event::Lsn;

/// The identity of the stream `slot` names on this server, as the checkpoint records it (the
/// same values IDENTIFY_SYSTEM gives on the replication connection).
pub async fn stream_id(client: &Client, slot: &str) -> Result<StreamId, SetupError> {
    let row = client
        .query_one(
            "SELECT (system_identifier::numeric \
               + CASE WHEN system_identifier < 0 THEN 18446744073709551616 ELSE 0 END)::text, \
             current_database()::text FROM pg_control_system()",
            &[],
        )
        .await
        .map_err(|e| sql_error("reading the server's system identifier", e))?;
    Ok(StreamId {
        system_id: row.get(0),
        database: row.get(1),
        slot: slot.to_string(),
    })
}

/// The slot was dropped (or never existed here) while our checkpoint holds a position in it.
pub fn slot_gone(slot: &str, checkpoint: &dyn PositionStore, at: Lsn) -> SetupError {
    SetupError::new(format!(
        "replication slot {slot:?} does not exist, but {} says changes up to {at} were delivered \
         from it: it was dropped, so changes after {at} may be gone from the server. Creating a \
         new slot would skip them silently; to start afresh from now, accept that, delete {0} \
         and run again (a new slot is created)",
        checkpoint.location()
    ))
}

/// The server invalidated the slot: the WAL it needed was removed.
pub fn slot_lost(slot: &str) -> SetupError {
    SetupError::new(format!(
        "replication slot {slot:?} was invalidated by the server (wal_status = lost): it fell \
         further behind than max_slot_wal_keep_size allows and the WAL it needed was removed, so \
         changes are missing. Raise max_slot_wal_keep_size (or set it to -1), then drop the slot \
         with SELECT pg_drop_replication_slot('{slot}'), delete this stream's checkpoint file in \
         the state directory, and run again to start afresh (resynchronise the destination), or \
         run with --on-slot-lost resnapshot to have that done with a new snapshot"
    ))
}

/// Whether `slot` cannot be streamed from any more: invalidated by the server (its WAL was
/// removed), or gone while `checkpoint` holds positions in it.
pub async fn slot_unusable(
    client: &Client,
    slot: &str,
    checkpoint: &dyn PositionStore,
) -> Result<bool, SetupError> {
    let row = client
        .query_opt(
            "SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(|e| sql_error("reading the slot's state", e))?;
    Ok(match row {
        Some(r) => r.get::<_, String>(0) == "lost",
        None => checkpoint.load().map(|p| !p.is_empty()).unwrap_or(false),
    })
}

pub(super) async fn ensure_slot(
    client: &Client,
    spec: &StreamSpec,
    checkpoint: &dyn PositionStore,
    create: bool,
) -> Result<SlotFound, SetupError> {
    let row = client
        .query_opt(
            "SELECT plugin, active, active_pid, database = current_database(), \
             wal_status::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&spec.slot],
        )
        .await
        .map_err(|e| sql_error("looking up the replication slot", e))?;
    match row {
        Some(row) => {
            let plugin: Option<String> = row.get(0);
            let active: bool = row.get(1);
            let pid: Option<i32> = row.get(2);
            let same_db: Option<bool> = row.get(3);
            if plugin.as_deref() != Some("pgoutput") || same_db != Some(true) {
                return Err(SetupError::new(format!(
                    "replication slot {:?} exists but is not a pgoutput slot of this database: \
                     choose another --slot",
                    spec.slot
                )));
            }
            if active {
                return Err(slot_active(&spec.slot, pid));
            }
            let wal_status: Option<String> = row.get(4);
            if wal_status.as_deref() == Some("lost") {
                return Err(slot_lost(&spec.slot));
            }
            tracing::info!(slot = %spec.slot, "using existing replication slot");
            Ok(SlotFound::Existing)
        }
        None => {
            let stored = checkpoint
                .load()
                .map_err(|e| SetupError::new(format!("{e:#}")))?;
            if let Some(at) = stored.values().map(|p| p.lsn).filter(|l| l.0 > 0).max() {
                return Err(slot_gone(&spec.slot, checkpoint, at));
            }
            if !create {
                return Ok(SlotFound::Missing);
            }
            client
                .query_one(
                    "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                    &[&spec.slot],
                )
                .await
                .map_err(|e| sql_error(&format!("creating replication slot {:?}", spec.slot), e))?;
            tracing::info!(slot = %spec.slot, "created replication slot");
            Ok(SlotFound::Created)
        }
    }
}

/// Drops `slot` (not in use): an interrupted initial snapshot starts again in a new one.
pub async fn drop_slot(client: &Client, slot: &str) -> Result<(), SetupError> {
    client
        .execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
             WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(|e| sql_error(&format!("dropping replication slot {slot:?}"), e))?;
    Ok(())
}

pub fn slot_active(slot: &str, pid: Option<i32>) -> SetupError {
    let pid = pid.map(|p| format!(" (PID {p})")).unwrap_or_default();
    SetupError::new(format!(
        "replication slot {slot:?} is already active in another process{pid}: stop the other \
         consumer, or give this one its own --slot"
    ))
}

/// The confirmed position of a slot, as the server reports it.
pub async fn slot_confirmed_lsn(
    client: &Client,
    slot: &str,
) -> Result<Option<crate::event::Lsn>, SetupError> {
    let row = client
        .query_opt(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(|e| sql_error("reading the slot's position", e))?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .and_then(|s| s.parse().ok()))
}

/// The process id of the walsender holding `slot`, if one does.
pub async fn slot_holder(client: &Client, slot: &str) -> Result<Option<i32>, SetupError> {
    let row = client
        .query_opt(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active",
            &[&slot],
        )
        .await
        .map_err(|e| sql_error("reading who holds the slot", e))?;
    Ok(row.and_then(|r| r.get::<_, Option<i32>>(0)))
}

/// Moves `slot`'s confirmed position to `to` over SQL, for when the walsender did not act on
/// our last status update (it reads replies only between sends, and one busy decoding a large
/// transaction may not get to it before we leave). Our own walsender, `ours`, is ended first if
/// it still holds the slot: `pg_replication_slot_advance` needs the slot free. Never moves the
/// slot past `to`, which is durable in our checkpoint.
pub async fn advance_released_slot(
    client: &Client,
    slot: &str,
    ours: Option<i32>,
    to: Lsn,
    deadline: std::time::Instant,
) -> Result<(), SetupError> {
    loop {
        match slot_holder(client, slot).await? {
            None => break,
            Some(pid) if Some(pid) == ours => {
                client
                    .execute("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .map_err(|e| sql_error("ending our walsender", e))?;
            }
            // Someone else took the slot: not ours to move any more.
            Some(pid) => {
                return Err(SetupError::new(format!(
                    "replication slot {slot:?} is held by another process (pid {pid})"
                )))
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(SetupError::new(format!(
                "replication slot {slot:?} was still in use when we stopped"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    client
        .execute(
            "SELECT pg_replication_slot_advance($1, $2::text::pg_lsn) \
             FROM pg_replication_slots WHERE slot_name = $1 AND confirmed_flush_lsn < $2::text::pg_lsn",
            &[&slot, &to.to_string()],
        )
        .await
        .map_err(|e| sql_error("advancing the slot", e))?;
    Ok(())
}
