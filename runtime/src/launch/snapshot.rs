//! Whether a run starts with an initial snapshot, and preparing it: the slot created with an
//! exported snapshot, and the tables to read in it.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::assemble::TypeRegistry;
use crate::checkpoint::PositionStore;
use crate::config::{OnSlotLost, SnapshotMode};
use crate::error::SetupError;
use crate::pipeline::snapshot as marker;
use crate::pipeline::InitialSnapshot;
use crate::source::backfill::table_key;
use crate::source::catalog::{self, load_types};
use crate::source::conninfo::ConnInfo;
use crate::source::setup::{self, SlotFound, StreamSpec};
use crate::source::snapshot::create_slot_exporting;

/// What [`prepare`] did, and what a run starts with besides streaming.
#[derive(Default)]
pub(super) struct Prepared {
    /// A slot just created with its snapshot exported, to read first.
    pub initial: Option<InitialSnapshot>,
    /// Tables an interrupted initial snapshot did not finish, to complete by backfill.
    pub resumed: Vec<String>,
    /// The slot was created by this run (so nothing has read from it yet).
    pub created: bool,
}

/// Ensures the publication and the slot; when the slot is created here (and the mode wants
/// one), it is created with an exported snapshot that the pipeline reads first.
pub(super) async fn prepare(
    client: &Client,
    conn: &ConnInfo,
    spec: &StreamSpec,
    state_dir: &std::path::Path,
    store: &dyn PositionStore,
    mode: SnapshotMode,
    on_lost: OnSlotLost,
) -> Result<Prepared, SetupError> {
    let mut mode = mode;
    if on_lost == OnSlotLost::Resnapshot && setup::slot_unusable(client, &spec.slot, store).await? {
        // Changes are missing: rebuild every sink's copy from a new snapshot. The marker makes
        // the restart path below reset each table (a truncate) before its reads.
        tracing::warn!(
            slot = %spec.slot,
            "replication slot {:?} was invalidated or dropped and changes are missing: \
             --on-slot-lost resnapshot creates a new slot and delivers a new snapshot; sinks get \
             a truncate of each table, then its rows again",
            spec.slot
        );
        setup::drop_slot(client, &spec.slot).await?;
        store
            .store(&BTreeMap::new())
            .map_err(|e| SetupError::new(format!("{e:#}")))?;
        let _ = std::fs::remove_file(crate::pipeline::backfill::jobs::path(state_dir, &spec.slot));
        marker::started(state_dir, &spec.slot)
            .map_err(|e| SetupError::new(format!("writing to {}: {e}", state_dir.display())))?;
        if mode == SnapshotMode::Never {
            mode = SnapshotMode::Initial;
        }
    }
    if mode == SnapshotMode::Never {
        let found = setup::ensure_publication_and_slot(client, spec, store, true).await?;
        return Ok(Prepared {
            created: found == SlotFound::Created,
            ..Prepared::default()
        });
    }
    let restarted = marker::interrupted(state_dir, &spec.slot);
    if restarted && mode != SnapshotMode::InitialOnly {
        if let Some(resumed) = resumable(client, spec, state_dir).await? {
            setup::ensure_publication_and_slot(client, spec, store, true).await?;
            tracing::warn!(
                slot = %spec.slot,
                "the initial snapshot of the last run was interrupted: {} table(s) not \
                 finished ({}) are completed by backfill while streaming",
                resumed.len(),
                resumed.join(", ")
            );
            if resumed.is_empty() {
                marker::completed(state_dir, &spec.slot);
            }
            return Ok(Prepared {
                resumed,
                ..Prepared::default()
            });
        }
    }
    if restarted {
        // The exported snapshot died with the run that read it: start again in a new slot.
        // Nothing streamed was acknowledged (positions stay before the consistent point until
        // the snapshot is complete), so the old slot holds nothing anyone needs.
        tracing::warn!(
            slot = %spec.slot,
            "the initial snapshot of the last run was interrupted: it starts again in a new \
             slot; sinks get a truncate of each table, then its rows again"
        );
        setup::drop_slot(client, &spec.slot).await?;
        store
            .store(&BTreeMap::new())
            .map_err(|e| SetupError::new(format!("{e:#}")))?;
    }
    match setup::ensure_publication_and_slot(client, spec, store, false).await? {
        SlotFound::Missing => {}
        SlotFound::Existing if mode == SnapshotMode::InitialOnly => {
            return Err(SetupError::new(format!(
                "--snapshot initial-only: replication slot {:?} already exists, so its snapshot \
                 was taken before; drop the slot or give another --slot to take a new one",
                spec.slot
            )))
        }
        found @ (SlotFound::Existing | SlotFound::Created) => {
            return Ok(Prepared {
                created: found == SlotFound::Created,
                ..Prepared::default()
            })
        }
    }
    marker::started(state_dir, &spec.slot)
        .map_err(|e| SetupError::new(format!("writing to {}: {e}", state_dir.display())))?;
    let exported = create_slot_exporting(conn, &spec.slot)
        .await
        .map_err(|e| SetupError::new(format!("creating replication slot {:?}: {e}", spec.slot)))?;
    tracing::info!(
        slot = %spec.slot,
        "created replication slot at {} with snapshot {}",
        exported.consistent_point,
        exported.snapshot
    );
    let mut types = TypeRegistry::default();
    load_types(client, &mut types, None).await?;
    let tables = catalog::stream_tables(client, spec, &types).await?;
    Ok(Prepared {
        initial: Some(InitialSnapshot {
            exported,
            tables,
            only: mode == SnapshotMode::InitialOnly,
            restarted,
        }),
        resumed: Vec::new(),
        created: true,
    })
}

/// Drops the slot this run created, when the run fails before it streams (a sink that does not
/// compile or rejects its configuration): nothing has read from the slot, and a slot that no
/// one reads keeps the server's WAL forever. When that fails, a warning says how to drop it.
pub(super) async fn drop_created_slot(
    client: &Client,
    spec: &StreamSpec,
    state_dir: &std::path::Path,
    prepared: Prepared,
) {
    let had_snapshot = prepared.initial.is_some();
    // Closes the replication connection that holds a slot created with a snapshot.
    drop(prepared);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let dropped = loop {
        match setup::slot_holder(client, &spec.slot).await {
            Ok(None) => break setup::drop_slot(client, &spec.slot).await,
            Ok(Some(_)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Ok(Some(pid)) => {
                break Err(SetupError::new(format!("it is still held by PID {pid}")));
            }
            Err(e) => break Err(e),
        }
    };
    match dropped {
        Ok(()) => {
            if had_snapshot {
                marker::completed(state_dir, &spec.slot);
            }
            tracing::info!(slot = %spec.slot, "dropped the replication slot this run created");
        }
        Err(e) => tracing::warn!(
            slot = %spec.slot,
            "could not drop replication slot {:?}, which this run created: {e}; it keeps WAL \
             on the server until a run uses it or you drop it with SELECT \
             pg_drop_replication_slot('{}')",
            spec.slot,
            spec.slot
        ),
    }
}

/// The tables an interrupted snapshot left unfinished, when the rest can be done by backfill:
/// its slot still exists (the stream goes on from the snapshot's consistent point) and every
/// unfinished table has a key to read it in ranges. `None`: start the snapshot again.
async fn resumable(
    client: &Client,
    spec: &StreamSpec,
    state_dir: &std::path::Path,
) -> Result<Option<Vec<String>>, SetupError> {
    if setup::slot_confirmed_lsn(client, &spec.slot)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let progress = marker::Progress::read(state_dir, &spec.slot);
    let mut types = TypeRegistry::default();
    load_types(client, &mut types, None).await?;
    let tables = catalog::stream_tables(client, spec, &types).await?;
    let mut unfinished = Vec::new();
    for table in tables {
        let name = table.qualified_name();
        if progress.done.contains(&name) {
            continue;
        }
        if let Err(e) = table_key(client, &table).await {
            tracing::warn!("{e}");
            return Ok(None);
        }
        unfinished.push(name);
    }
    Ok(Some(unfinished))
}
