//! Starting every tenant's sink on the sink threads, and the `--record` file that one of them
//! writes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::plan::LinkedSinks;
use super::RunSpec;
use crate::error::SetupError;
use crate::pipeline::worker::{Outcome, SinkWorker};
use crate::pipeline::{Pool, TenantSetup};
use crate::record::Recorder;
use crate::route::TenantRouter;
use crate::sandbox::SandboxEngine;

/// Compiles every distinct sink file once (or loads it from the compile cache in the state
/// directory), queues every tenant's `connect` on the sink threads and waits for them all, so
/// that tenants start side by side. In a multi-tenant run a sink that cannot connect quarantines
/// its tenant (its destination may come back; the run says so at its end and exits non-zero);
/// otherwise it fails the run, with the sink's path.
pub(super) async fn start_tenants(
    run: &RunSpec,
    routers: Vec<Option<TenantRouter>>,
    mut recorder: Option<(Arc<str>, Recorder)>,
    outcome_tx: mpsc::UnboundedSender<Outcome>,
) -> Result<Vec<TenantSetup>, SetupError> {
    let started = Instant::now();
    let engine = SandboxEngine::new(Some(&run.state_dir.join("cache")))
        .map_err(|e| SetupError::new(format!("{e:#}")))?;
    let mut linked = LinkedSinks::default();
    let mut instances = Vec::new();
    for plan in &run.plans {
        instances.push(plan.instance(&engine, &mut linked)?);
    }
    let threads = sink_threads(run.sink_threads, run.plans.len());
    let pool = Pool::new(threads)
        .map_err(|e| SetupError::new(format!("starting {threads} sink threads: {e}")))?;
    let mut starting = Vec::new();
    for (plan, instance) in run.plans.iter().zip(instances) {
        let recording = recorder.take_if(|(id, _)| *id == plan.id).map(|(_, r)| r);
        let (worker, connected) = SinkWorker::start(
            &pool,
            &plan.id,
            instance,
            plan.retry.clone(),
            outcome_tx.clone(),
            recording,
        );
        starting.push((worker, connected));
    }
    let mut setups = Vec::new();
    for (((worker, connected), plan), router) in starting.into_iter().zip(&run.plans).zip(routers) {
        let worker = match connected.await {
            Ok(Ok(())) => Ok(worker),
            Ok(Err(e)) if run.multi_tenant => Err(e),
            Ok(Err(e)) => return Err(SetupError::new(format!("{}: {e}", plan.sink))),
            Err(_) => Err("the sink thread stopped before connecting".into()),
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
    if run.plans.len() > 1 {
        tracing::info!(
            "{} tenants started in {:.2} s ({} distinct sinks, {} sink threads)",
            run.plans.len(),
            started.elapsed().as_secs_f64(),
            linked.distinct(),
            pool.threads()
        );
    }
    Ok(setups)
}

/// Threads calling into sinks: `configured`, or by default one per tenant up to 64. Calls block
/// while a sink waits on its destination, so a few threads per core keep network-bound sinks
/// busy; past 64 a thread per tenant only adds stacks (a thousand mostly idle tenants need no
/// thousand threads: see `pipeline::pool`).
pub fn sink_threads(configured: usize, tenants: usize) -> usize {
    match configured {
        0 => tenants.clamp(1, 64),
        n => n,
    }
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
