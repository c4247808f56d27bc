//! Whether a run starts with an initial snapshot, and preparing it: the slot created with an
//! exported snapshot, and the tables to read in it.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::assemble::TypeRegistry;
use crate::checkpoint::PositionStore;
use crate::config::SnapshotMode;
use crate::error::SetupError;
use crate::pipeline::snapshot as marker;
use crate::pipeline::InitialSnapshot;
use crate::source::catalog::{self, load_types};
use crate::source::conninfo::ConnInfo;
use crate::source::setup::{self, SlotFound, StreamSpec};
use crate::source::snapshot::create_slot_exporting;

/// What [`prepare`] did.
pub(super) struct Prepared {
    /// The snapshot to deliver first, when the slot was created with one.
    pub initial: Option<InitialSnapshot>,
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
) -> Result<Prepared, SetupError> {
    if mode == SnapshotMode::Never {
        let found = setup::ensure_publication_and_slot(client, spec, store, true).await?;
        return Ok(Prepared {
            initial: None,
            created: found == SlotFound::Created,
        });
    }
    let restarted = marker::interrupted(state_dir, &spec.slot);
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
                initial: None,
                created: found == SlotFound::Created,
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
