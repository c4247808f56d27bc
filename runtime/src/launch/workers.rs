//! Starting each tenant's sink thread, and the `--record` file that one of them writes.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::plan::TenantPlan;
use crate::error::SetupError;
use crate::pipeline::worker::{Outcome, SinkWorker};
use crate::pipeline::Sink;
use crate::record::Recorder;

/// Opens the `--record` file before anything touches the database, so that a bad path fails
/// the run without side effects.
pub(super) fn open_recording(
    record: Option<&(Arc<str>, PathBuf)>,
) -> Result<Option<(Arc<str>, Recorder)>, SetupError> {
    let Some((tenant, file)) = record else {
        return Ok(None);
    };
    let recorder =
        Recorder::append_to(file).map_err(|e| SetupError::new(format!("--record: {e}")))?;
    tracing::info!(
        tenant = &**tenant,
        "recording accepted batches to {} ({} already in it)",
        file.display(),
        recorder.batches()
    );
    Ok(Some((tenant.clone(), recorder)))
}

/// Starts a sink's thread and waits for its `connect`.
pub(super) async fn start_worker(
    plan: &TenantPlan,
    instance: Box<dyn Sink>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    recorder: Option<Recorder>,
) -> Result<SinkWorker, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let worker = SinkWorker::spawn(
        &plan.id,
        instance,
        plan.retry.clone(),
        outcomes,
        ready_tx,
        recorder,
    )
    .map_err(|e| format!("starting the sink thread: {e}"))?;
    match tokio::task::spawn_blocking(move || ready_rx.recv()).await {
        Ok(Ok(Ok(()))) => Ok(worker),
        Ok(Ok(Err(e))) => Err(e),
        _ => Err("the sink thread stopped before connecting".into()),
    }
}
