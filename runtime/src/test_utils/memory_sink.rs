//! A sink in memory: what it accepted, in order, and failures on cue.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::event::{Batch, Change, SinkError};
use crate::launch::{MakeSink, SinkSource};
use crate::pipeline::Sink;
use crate::sandbox::CallError;

#[derive(Default)]
struct State {
    batches: Vec<Batch>,
    /// Failures for the next `publish` calls, in order (`true`: retryable).
    failures: VecDeque<bool>,
    connects: u32,
    publish_calls: u32,
    closed: bool,
    /// Called once, when the first batch is accepted (e.g. to arm a failpoint at that moment).
    on_first_accept: Option<Box<dyn FnOnce() + Send>>,
}

/// A handle on an in-memory sink; clones share it, so a test keeps one while the pipeline runs
/// the sinks made by [`MemorySink::source`].
#[derive(Clone, Default)]
pub struct MemorySink {
    state: Arc<Mutex<State>>,
}

impl MemorySink {
    /// The sink as a tenant's sink source: every instance the pipeline makes shares this state.
    pub fn source(&self, name: &str) -> SinkSource {
        let sink = self.clone();
        let make: MakeSink = Arc::new(move || Box::new(sink.clone()) as Box<dyn Sink>);
        SinkSource::InProcess {
            name: name.into(),
            make,
        }
    }

    /// Makes the next `times` publish calls fail (`retryable` or not) before any succeeds.
    pub fn fail_next(&self, times: usize, retryable: bool) {
        let mut s = self.lock();
        s.failures.extend(std::iter::repeat_n(retryable, times));
    }

    /// Calls `f` when the first batch is accepted, before the pipeline hears of it.
    pub fn on_first_accept(&self, f: impl FnOnce() + Send + 'static) {
        self.lock().on_first_accept = Some(Box::new(f));
    }

    /// Every change accepted, in delivery order.
    pub fn changes(&self) -> Vec<Change> {
        let s = self.lock();
        s.batches.iter().flat_map(|b| b.changes.clone()).collect()
    }

    /// The accepted batches.
    pub fn batches(&self) -> Vec<Batch> {
        self.lock().batches.clone()
    }

    pub fn publish_calls(&self) -> u32 {
        self.lock().publish_calls
    }

    pub fn connects(&self) -> u32 {
        self.lock().connects
    }

    pub fn closed(&self) -> bool {
        self.lock().closed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("memory sink lock")
    }
}

impl Sink for MemorySink {
    fn connect(&mut self) -> Result<(), CallError> {
        self.lock().connects += 1;
        Ok(())
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), CallError> {
        let mut s = self.lock();
        s.publish_calls += 1;
        if let Some(retryable) = s.failures.pop_front() {
            return Err(CallError::Sink(SinkError {
                retryable,
                message: format!("memory sink told to fail (retryable: {retryable})"),
            }));
        }
        s.batches.push(batch.clone());
        if let Some(f) = s.on_first_accept.take() {
            f();
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), CallError> {
        self.lock().closed = true;
        Ok(())
    }
}
