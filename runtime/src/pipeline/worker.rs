//! A tenant's sink, called on the pool's threads (`pool`), with the retry policy around it.
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::pool::Pool;
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

/// A tenant's sink, called on the pool's threads (see [`super::pool`]).
pub struct SinkWorker {
    slot: Arc<Slot>,
    pool: Arc<Pool>,
}

/// What every job of one tenant shares.
struct Slot {
    tenant: String,
    policy: RetryPolicy,
    /// A stop was requested: batches being retried give up.
    cancel: AtomicBool,
    /// `close` was requested: nothing more is called but `close`.
    closing: AtomicBool,
    /// Locked by the job that calls into the sink; never contended but by `close` racing the
    /// last `publish`, which the lock puts in order.
    sink: Mutex<Box<dyn Sink>>,
    recorder: Mutex<Option<Recorder>>,
    outcomes: UnboundedSender<Outcome>,
}

/// One call into one tenant's sink, with the retry state of the request it belongs to.
pub(super) struct Job {
    slot: Arc<Slot>,
    task: Task,
}

enum Task {
    Connect {
        tries: Tries,
        ready: oneshot::Sender<Result<(), String>>,
    },
    Publish {
        batch: Batch,
        token: u64,
        tries: Tries,
    },
    Close {
        done: oneshot::Sender<Result<(), String>>,
    },
}

impl SinkWorker {
    /// Queues the tenant's `connect` (instantiating the sink first); its result arrives on the
    /// returned receiver before any batch is sent. With a `recorder`, every accepted batch is
    /// appended to it before the acceptance is reported (see `record`).
    pub fn start(
        pool: &Arc<Pool>,
        name: &str,
        instance: Box<dyn Sink>,
        policy: RetryPolicy,
        outcomes: UnboundedSender<Outcome>,
        recorder: Option<Recorder>,
    ) -> (SinkWorker, oneshot::Receiver<Result<(), String>>) {
        let (ready, connected) = oneshot::channel();
        let slot = Arc::new(Slot {
            tenant: name.to_string(),
            policy,
            cancel: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            sink: Mutex::new(instance),
            recorder: Mutex::new(recorder),
            outcomes,
        });
        let tries = Tries::new(&slot.policy);
        pool.submit(Job {
            slot: slot.clone(),
            task: Task::Connect { tries, ready },
        });
        let worker = SinkWorker {
            slot,
            pool: pool.clone(),
        };
        (worker, connected)
    }

    pub fn send(&self, request: Request) -> bool {
        if self.slot.closing.load(Ordering::SeqCst) {
            return false;
        }
        let Request::Publish { batch, token } = request;
        self.pool.submit(Job {
            slot: self.slot.clone(),
            task: Task::Publish {
                batch,
                token,
                tries: Tries::new(&self.slot.policy),
            },
        });
        true
    }

    /// Makes a batch that is being retried give up at once.
    pub fn cancel_retries(&self) {
        self.slot.cancel.store(true, Ordering::SeqCst);
        self.pool.nudge();
    }

    /// Calls the sink's `close` after its current call (a batch waiting to be retried is given
    /// up); resolves when it returned.
    pub fn shut_down(self) -> oneshot::Receiver<Result<(), String>> {
        self.slot.closing.store(true, Ordering::SeqCst);
        let (done, closed) = oneshot::channel();
        self.pool.submit(Job {
            slot: self.slot.clone(),
            task: Task::Close { done },
        });
        self.pool.nudge();
        closed
    }
}

impl Slot {
    /// A request is given up when the sink is closing, or when a stop was requested and the
    /// request already failed once (its first attempt is made: a stop waits for the call in
    /// flight, not for retries).
    fn gives_up(&self, tries: &Tries) -> bool {
        self.closing.load(Ordering::SeqCst)
            || (tries.failures > 0 && self.cancel.load(Ordering::SeqCst))
    }
}

impl Job {
    /// Whether a job waiting for its retry should run now to give up.
    pub(super) fn cancelled(&self) -> bool {
        self.slot.cancel.load(Ordering::SeqCst) || self.slot.closing.load(Ordering::SeqCst)
    }

    /// Makes the call; returns the job again, with when to retry it, after a retryable failure.
    pub(super) fn run(self) -> Option<(Instant, Job)> {
        let Job { slot, task } = self;
        let mut sink = slot.sink.lock().unwrap_or_else(|e| e.into_inner());
        match task {
            Task::Connect { mut tries, ready } => {
                let result = if slot.gives_up(&tries) {
                    Step::Cancelled
                } else {
                    tries.step(&slot, "connect", sink.connect())
                };
                match result {
                    Step::Done => drop(ready.send(Ok(()))),
                    Step::Failed(e) => drop(ready.send(Err(e))),
                    Step::Cancelled => drop(ready.send(Err("cancelled".into()))),
                    Step::RetryAt(due) => {
                        drop(sink);
                        return Some((
                            due,
                            Job {
                                slot,
                                task: Task::Connect { tries, ready },
                            },
                        ));
                    }
                }
            }
            Task::Publish {
                batch,
                token,
                mut tries,
            } => {
                let step = if slot.gives_up(&tries) {
                    Step::Cancelled
                } else {
                    let started = Instant::now();
                    let result = sink.publish(&batch);
                    crate::metrics::calls::publish_took(&slot.tenant, started.elapsed());
                    tries.step(&slot, "publish", result)
                };
                let outcome = match step {
                    Step::Done => Outcome::Accepted { token },
                    Step::Failed(error) => Outcome::Failed { token, error },
                    Step::Cancelled => Outcome::Cancelled { token },
                    Step::RetryAt(due) => {
                        drop(sink);
                        let task = Task::Publish {
                            batch,
                            token,
                            tries,
                        };
                        return Some((due, Job { slot, task }));
                    }
                };
                let mut recorder = slot.recorder.lock().unwrap_or_else(|e| e.into_inner());
                let outcome = record(&mut recorder, &batch, outcome);
                let _ = slot.outcomes.send(outcome);
            }
            Task::Close { done } => {
                let closed = sink.close().map_err(|e| e.to_string());
                let recorder = slot
                    .recorder
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if let Some(recorder) = recorder {
                    if let Err(e) = recorder.close() {
                        tracing::warn!(tenant = slot.tenant.as_str(), "--record: {e}");
                    }
                }
                let _ = done.send(closed);
            }
        }
        None
    }
}

/// Where a call leaves its request.
enum Step {
    Done,
    /// Failed for good: the message says why.
    Failed(String),
    Cancelled,
    RetryAt(Instant),
}

/// A request's failures so far, and the next backoff.
struct Tries {
    backoff: Duration,
    traps: u32,
    failures: u32,
}

impl Tries {
    fn new(policy: &RetryPolicy) -> Tries {
        Tries {
            backoff: policy.initial_backoff,
            traps: 0,
            failures: 0,
        }
    }

    /// Judges one attempt's result by the policy.
    fn step(&mut self, slot: &Slot, what: &str, result: Result<(), CallError>) -> Step {
        let error = match result {
            Ok(()) => return Step::Done,
            Err(e) => e,
        };
        let policy = &slot.policy;
        self.failures += 1;
        crate::metrics::calls::failed(&slot.tenant);
        if let CallError::Trap(_) = error {
            self.traps += 1;
            if self.traps >= policy.max_consecutive_traps {
                let traps = self.traps;
                return Step::Failed(format!(
                    "{error} ({traps} times in a row on the same {what})"
                ));
            }
        }
        if !error.retryable() {
            return Step::Failed(format!("sink {what} failed and cannot be retried: {error}"));
        }
        if policy
            .max_consecutive_failures
            .is_some_and(|max| self.failures >= max)
        {
            let failures = self.failures;
            return Step::Failed(format!(
                "sink {what} failed {failures} times in a row; last: {error}"
            ));
        }
        let backoff = self.backoff;
        tracing::warn!(
            tenant = slot.tenant.as_str(),
            "sink {what} failed, retrying in {backoff:?}: {error}"
        );
        self.backoff = (backoff * 2).min(policy.max_backoff);
        crate::metrics::calls::retried(&slot.tenant);
        Step::RetryAt(Instant::now() + backoff)
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
