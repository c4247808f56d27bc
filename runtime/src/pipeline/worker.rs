//! A sink on a thread of its own, with the retry policy around it.
//!
//! The replication loop hands a batch over and gets one answer back: accepted, or a failure the
//! runtime cannot get past. Transient failures (a retryable sink error, a trap, the CPU deadline)
//! are retried here with capped exponential backoff, re-creating the instance after a trap, so
//! the loop never has to know about them.
//!
//! With `run --record FILE` the worker also appends every batch the sink accepted to an events
//! file: it has the batch in hand when `publish` returns, so the replication loop neither waits
//! for the disk nor keeps a copy of the batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::sink::Sink;
use crate::event::Batch;
use crate::record::Recorder;
use crate::sandbox::CallError;

/// How the worker retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Consecutive traps on the same batch after which the worker gives up: a sink that traps
    /// deterministically on some input would otherwise loop forever.
    pub max_consecutive_traps: u32,
    /// Consecutive failures of any kind (retryable errors included) after which the worker gives
    /// up; `None`: retryable errors are retried for as long as it takes (a destination may be down
    /// for hours, and the changes wait safely in the slot).
    pub max_consecutive_failures: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            max_consecutive_traps: 5,
            max_consecutive_failures: None,
        }
    }
}

pub enum Request {
    Publish { batch: Batch, token: u64 },
}

/// The worker's answer to one request.
#[derive(Debug)]
pub enum Outcome {
    Accepted {
        token: u64,
    },
    /// The sink cannot make progress: a non-retryable error, or too many traps in a row.
    Failed {
        token: u64,
        error: String,
    },
    /// Shutdown was requested while the batch was being retried; it was not accepted.
    Cancelled {
        token: u64,
    },
}

/// Handle to the sink thread. Dropping the request sender makes the thread call `close` and exit.
pub struct SinkWorker {
    requests: Option<mpsc::Sender<Request>>,
    cancel: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl SinkWorker {
    /// Starts the thread, which instantiates the sink and calls `connect` first; a failure there is
    /// reported through the returned receiver before any batch is sent. With a `recorder`, every
    /// accepted batch is appended to it before the acceptance is reported (see `record`).
    pub fn spawn(
        name: &str,
        mut instance: Box<dyn Sink>,
        policy: RetryPolicy,
        outcomes: UnboundedSender<Outcome>,
        ready: std::sync::mpsc::SyncSender<Result<(), String>>,
        mut recorder: Option<Recorder>,
    ) -> std::io::Result<SinkWorker> {
        let (tx, rx) = mpsc::channel::<Request>();
        let cancel = Arc::new(AtomicBool::new(false));
        let cancel_flag = cancel.clone();
        let tenant = name.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("sink-{name}"))
            .spawn(move || {
                let connected =
                    connect_with_retry(instance.as_mut(), &policy, &cancel_flag, &tenant);
                let failed = connected.is_err();
                let _ = ready.send(connected);
                if failed {
                    return Ok(());
                }
                for request in rx {
                    let Request::Publish { batch, token } = request;
                    let outcome = publish_with_retry(
                        instance.as_mut(),
                        &batch,
                        token,
                        &policy,
                        &cancel_flag,
                        &tenant,
                    );
                    let outcome = record(&mut recorder, &batch, outcome);
                    if outcomes.send(outcome).is_err() {
                        break;
                    }
                }
                let closed = instance.close().map_err(|e| e.to_string());
                if let Some(recorder) = recorder {
                    if let Err(e) = recorder.close() {
                        tracing::warn!(tenant = tenant.as_str(), "--record: {e}");
                    }
                }
                closed
            })?;
        Ok(SinkWorker {
            requests: Some(tx),
            cancel,
            thread: Some(thread),
        })
    }

    pub fn send(&self, request: Request) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|tx| tx.send(request).is_ok())
    }

    /// Makes a batch that is being retried give up at its next attempt.
    pub fn cancel_retries(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Stops the thread after its current call, calling the sink's `close`.
    pub fn shut_down(mut self) -> Result<(), String> {
        self.requests = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err("the sink thread panicked".into()),
            None => Ok(()),
        }
    }
}

fn connect_with_retry(
    instance: &mut dyn Sink,
    policy: &RetryPolicy,
    cancel: &AtomicBool,
    tenant: &str,
) -> Result<(), String> {
    retry(policy, cancel, "connect", tenant, || instance.connect()).map_err(|e| match e {
        Some(e) => e,
        None => "cancelled".into(),
    })
}

fn publish_with_retry(
    instance: &mut dyn Sink,
    batch: &Batch,
    token: u64,
    policy: &RetryPolicy,
    cancel: &AtomicBool,
    tenant: &str,
) -> Outcome {
    match retry(policy, cancel, "publish", tenant, || {
        instance.publish(batch)
    }) {
        Ok(()) => Outcome::Accepted { token },
        Err(Some(error)) => Outcome::Failed { token, error },
        Err(None) => Outcome::Cancelled { token },
    }
}

/// Appends an accepted batch to the recording. Failing to is a failure of the batch: the loop
/// then does not acknowledge it (the changes stay in the slot, and a run started again after the
/// disk is fixed delivers and records them), which beats a recording with a silent gap. A single
/// sink's run stops with this error; in a `--config` run the recorded tenant is quarantined.
/// After a failure nothing more is recorded: the file may end with a cut-short line.
fn record(recorder: &mut Option<Recorder>, batch: &Batch, outcome: Outcome) -> Outcome {
    let (Outcome::Accepted { token }, Some(rec)) = (&outcome, recorder.as_mut()) else {
        return outcome;
    };
    match rec.append(batch) {
        Ok(()) => outcome,
        Err(e) => {
            let token = *token;
            *recorder = None;
            Outcome::Failed {
                token,
                error: format!(
                    "--record: the sink accepted a batch that could not be recorded ({e}): make \
                     room or fix the file and start again, or run without --record"
                ),
            }
        }
    }
}

/// Runs `call` until it succeeds, fails for good (`Err(Some)`), or is cancelled (`Err(None)`).
fn retry(
    policy: &RetryPolicy,
    cancel: &AtomicBool,
    what: &str,
    tenant: &str,
    mut call: impl FnMut() -> Result<(), CallError>,
) -> Result<(), Option<String>> {
    let mut backoff = policy.initial_backoff;
    let (mut traps, mut failures) = (0, 0);
    loop {
        let started = std::time::Instant::now();
        let result = call();
        if what == "publish" {
            crate::metrics::calls::publish_took(tenant, started.elapsed());
        }
        let error = match result {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        failures += 1;
        crate::metrics::calls::failed(tenant);
        if let CallError::Trap(_) = error {
            traps += 1;
            if traps >= policy.max_consecutive_traps {
                return Err(Some(format!(
                    "{error} ({traps} times in a row on the same {what})"
                )));
            }
        }
        if !error.retryable() {
            return Err(Some(format!(
                "sink {what} failed and cannot be retried: {error}"
            )));
        }
        if policy
            .max_consecutive_failures
            .is_some_and(|max| failures >= max)
        {
            return Err(Some(format!(
                "sink {what} failed {failures} times in a row; last: {error}"
            )));
        }
        tracing::warn!(
            tenant,
            "sink {what} failed, retrying in {backoff:?}: {error}"
        );
        if sleep_unless_cancelled(backoff, cancel) {
            return Err(None);
        }
        crate::metrics::calls::retried(tenant);
        backoff = (backoff * 2).min(policy.max_backoff);
    }
}

/// Sleeps for `delay` in short steps, so that a stop does not wait for a long backoff; returns
/// whether the wait was cancelled.
fn sleep_unless_cancelled(delay: Duration, cancel: &AtomicBool) -> bool {
    const STEP: Duration = Duration::from_millis(20);
    let until = std::time::Instant::now() + delay;
    loop {
        if cancel.load(Ordering::SeqCst) {
            return true;
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(STEP));
    }
}
