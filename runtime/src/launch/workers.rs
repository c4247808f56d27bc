//! Starting each tenant's sink thread, and the `--record` file that one of them writes.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::plan::TenantPlan;
use super::RunSpec;
use crate::error::SetupError;
use crate::pipeline::worker::{Outcome, SinkWorker};
use crate::pipeline::{Sink, TenantSetup};
use crate::record::Recorder;
use crate::route::TenantRouter;
use crate::sandbox::SandboxEngine;

/// Compiles every tenant's sink (or loads it from the compile cache in the state directory),
/// starts its thread and waits for its `connect`. In a multi-tenant run a sink that cannot
/// connect quarantines its tenant; otherwise it fails the run, with the sink's path.
pub(super) async fn start_tenants(
    run: &RunSpec,
    routers: Vec<Option<TenantRouter>>,
    mut recorder: Option<(Arc<str>, Recorder)>,
    outcome_tx: mpsc::UnboundedSender<Outcome>,
) -> Result<Vec<TenantSetup>, SetupError> {
    let engine = SandboxEngine::new(Some(&run.state_dir.join("cache")))
        .map_err(|e| SetupError::new(format!("{e:#}")))?;
    let mut instances = Vec::new();
    for plan in &run.plans {
        instances.push(plan.instance(&engine)?);
    }
    let mut setups = Vec::new();
    for ((plan, instance), router) in run.plans.iter().zip(instances).zip(routers) {
        let recording = recorder.take_if(|(id, _)| *id == plan.id).map(|(_, r)| r);
        let worker = start_worker(plan, instance, outcome_tx.clone(), recording).await;
        let worker = match worker {
            Ok(w) => Ok(w),
            Err(e) if run.multi_tenant => Err(e),
            Err(e) => return Err(SetupError::new(format!("{}: {e}", plan.sink))),
        };
        setups.push(TenantSetup {
            id: plan.id.clone(),
            router,
            worker,
            max_batch: plan.max_batch,
            batch_wait: plan.batch_wait,
            max_queue: plan.max_queue,
        });
    }
    Ok(setups)
}

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
async fn start_worker(
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
