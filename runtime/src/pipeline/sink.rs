//! What the pipeline needs of a sink, so that it can run a WebAssembly component in production
//! and an in-memory sink in tests through the same worker, retry policy and loop.

use crate::event::Batch;
use crate::sandbox::{CallError, SinkInstance};

/// A destination for batches: the three calls of the WIT `sink` interface, made on the tenant's
/// sink threads (see [`super::pool`]). Implementations report failures as [`CallError`]s, whose
/// retryability drives the worker's retry policy.
pub trait Sink: Send + 'static {
    /// Prepares the sink (validate configuration, open connections); called again after a
    /// failure that dropped the sink's state.
    fn connect(&mut self) -> Result<(), CallError>;
    /// Delivers a batch; `Ok` means the sink has taken responsibility for it.
    fn publish(&mut self, batch: &Batch) -> Result<(), CallError>;
    /// Flushes and releases resources at an orderly stop.
    fn close(&mut self) -> Result<(), CallError>;
}

impl Sink for SinkInstance {
    fn connect(&mut self) -> Result<(), CallError> {
        SinkInstance::connect(self)
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), CallError> {
        SinkInstance::publish(self, batch)
    }

    fn close(&mut self) -> Result<(), CallError> {
        SinkInstance::close(self)
    }
}
