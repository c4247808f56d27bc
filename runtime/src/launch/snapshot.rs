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

/// Ensures the publication and the slot; when the slot is created here (and the mode wants
/// one), it is created with an exported snapshot that the pipeline reads first.
pub(super) async fn prepare(
    client: &Client,
    conn: &ConnInfo,
    spec: &StreamSpec,
    state_dir: &std::path::Path,
    store: &dyn PositionStore,
    mode: SnapshotMode,
) -> Result<Option<InitialSnapshot>, SetupError> {
    if mode == SnapshotMode::Never {
        setup::ensure_publication_and_slot(client, spec, store, true).await?;
        return Ok(None);
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
        SlotFound::Existing | SlotFound::Created => return Ok(None),
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
    let tables = catalog::stream_tables(client, &spec.publication, &spec.tables, &types).await?;
    Ok(Some(InitialSnapshot {
        exported,
        tables,
        only: mode == SnapshotMode::InitialOnly,
        restarted,
    }))
}
